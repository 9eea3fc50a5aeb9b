package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// childTimeout bounds every child measurement.
const childTimeout = 30 * time.Minute

// load is the 1-minute load average before and after a measurement. Other
// people's work on the machine shows in the first figure.
type load struct {
	Before, After float64
	// Jump is how far the wall clock moved beyond the monotonic clock
	// during the measurement. A virtual machine that was paused shows a
	// jump, and the measurement then missed the pause.
	Jump time.Duration
}

// startLoad returns the load before a measurement that starts now.
func startLoad() (load, time.Time) { return load{Before: loadAverage()}, time.Now() }

// finish records the load after the measurement name that started at
// start, and logs a clock jump.
func (l *load) finish(start time.Time, name string) {
	l.After = loadAverage()
	l.Jump = time.Now().Round(0).Sub(start.Round(0)) - time.Since(start)
	if l.paused() {
		slog.Warn("The wall clock jumped during a measurement; the machine was probably paused",
			"measurement", name, "jump", l.Jump)
	}
}

// paused reports a clock jump of more than half a second.
func (l load) paused() bool { return l.Jump > 500*time.Millisecond || l.Jump < -500*time.Millisecond }

// measurement is one child's figures: Wall and PeakRSS from the child, CPU
// (user plus system, all threads) from the kernel's rusage of the child.
type measurement struct {
	Out     childOutput
	Wall    time.Duration
	CPU     time.Duration
	PeakRSS int64 // bytes
	Load    load
	Err     error
	// Runs holds the call CPU time (see callCPU) of every run when the
	// measurement is the best of several (see measureBest). It is nil for a
	// single run.
	Runs []time.Duration
}

// callCPU returns the CPU time of the measured call alone, as the child
// reported it, or the whole child's when it reported none.
func (m measurement) callCPU() time.Duration {
	if m.Out.CallCPU > 0 {
		return m.Out.CallCPU
	}
	return m.CPU
}

// rowsPerSecond returns the rows per second of elapsed time.
func (m measurement) rowsPerSecond() float64 { return perSecond(m.Out.Rows, m.Wall) }

// rowsPerCPUSecond returns the rows per second of CPU time of the measured
// call.
func (m measurement) rowsPerCPUSecond() float64 { return perSecond(m.Out.Rows, m.callCPU()) }

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// oneCoreRuns is how many times the one-core read and scan run. The fastest
// run counts, because other work on a shared machine only ever slows a run
// down.
const oneCoreRuns = 3

// measureBest runs spec runs times and returns the run with the least call
// CPU time, with that of every run in Runs. A failed run is returned as it
// is.
func measureBest(ctx context.Context, runs int, spec childSpec, env ...string) measurement {
	var best measurement
	var all []time.Duration
	for i := range runs {
		m := measure(ctx, spec, env...)
		if m.Err != nil {
			return m
		}
		all = append(all, m.callCPU())
		if i == 0 || m.callCPU() < best.callCPU() {
			best = m
		}
		spec.CPUProfile = "" // a profile of the first run is enough
	}
	best.Runs = all
	return best
}

// measure re-executes this binary to run spec in a child process, with
// env added to this process's environment.
func measure(ctx context.Context, spec childSpec, env ...string) measurement {
	var m measurement
	var start time.Time
	m.Load, start = startLoad()
	m.Out, m.CPU, m.PeakRSS, m.Err = runChildProcess(ctx, spec, env)
	m.Wall = m.Out.Wall
	m.Load.finish(start, spec.Kind+" "+spec.Snapshot)
	return m
}

// runChildProcess runs spec in a child process and returns its output, its
// CPU time from rusage and the peak RSS that it reported.
func runChildProcess(ctx context.Context, spec childSpec, env []string) (out childOutput,
	cpu time.Duration, peakRSS int64, err error) {
	exe, err := os.Executable()
	if err != nil {
		return out, 0, 0, fmt.Errorf("finding this executable to run it as a child failed: %w", err)
	}
	arg, err := json.Marshal(spec)
	if err != nil {
		return out, 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, childCommand, string(arg))
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	// The rusage's ru_maxrss is not used for memory: Go starts children
	// with vfork, and Linux then counts the parent's resident set at the
	// time of the exec as the child's peak. The child reports its own
	// VmHWM instead.
	if ru, ok := rusageOf(cmd.ProcessState); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if runErr != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() != nil {
			msg = fmt.Sprintf("timed out after %s; %s", childTimeout, msg)
		}
		target := spec.Snapshot
		if target == "" {
			target = spec.StateDir
		}
		return out, cpu, 0, fmt.Errorf("%s of %q failed: %w: %s", spec.Kind, target, runErr, msg)
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return out, cpu, 0, fmt.Errorf("%s child printed %q, not its result: %w", spec.Kind,
			stdout.String(), err)
	}
	return out, cpu, out.PeakRSS, nil
}

func rusageOf(ps *os.ProcessState) (*syscall.Rusage, bool) {
	if ps == nil {
		return nil, false
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	return ru, ok
}

// loadAverage returns the 1-minute load average, or -1 when it cannot be
// read.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// peakRSS returns the peak resident set size (VmHWM) of the live process
// pid in bytes. Unlike ru_maxrss, it covers the process's own image only.
func peakRSS(pid int) (int64, error) {
	v, ok := procField(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
	if !ok {
		return 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/status: invalid VmHWM %q", pid, v)
	}
	return kb * 1024, nil
}

// clockTicksPerSecond is USER_HZ, the unit of CPU times in /proc/PID/stat.
// NOTE: Go cannot read sysconf(_SC_CLK_TCK) without cgo, so this assumes
// 100, the value on x86 and arm Linux, instead of reading it.
const clockTicksPerSecond = 100

// processCPU returns the user plus system CPU time of the live process pid,
// all threads including those that exited, at a resolution of 10 ms.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in brackets may contain spaces; the fields after it
	// start with the state (field 3), so utime (field 14) is index 11.
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, fmt.Errorf("/proc/%d/stat has no command name", pid)
	}
	fields := strings.Fields(string(b[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat has %d fields after the command name, want 13 or more",
			pid, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: invalid CPU time %q", pid, f)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicksPerSecond, nil
}
