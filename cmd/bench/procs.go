package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// stopGrace is how long a process gets to exit after SIGTERM before SIGKILL.
const stopGrace = 20 * time.Second

// process is a long-running child (the dev server or a worker) that the
// bench started and stops.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string        // path of the file that receives its stdout and stderr
	done chan struct{} // closed when the process has exited
	err  error         // Wait's error, set before done is closed
}

// startProcess starts path with args in its own process group, with env
// added to this process's environment and its output in logDir/name.log.
func startProcess(name, logDir string, env []string, path string, args ...string) (*process, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, fmt.Errorf("create the log directory %q: %w", logDir, err)
	}
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create the log of %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig stops the child if the bench dies without stopping it. The
	// kernel sends it when the thread that started the child exits, which
	// in a Go program without locked threads happens only at exit.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, path, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after stopGrace,
// and waits for the process to exit. Calling it again does nothing.
func (p *process) stop() {
	if p == nil || p.exited() {
		return
	}
	pgid := -p.cmd.Process.Pid
	if err := syscall.Kill(pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		slog.Warn("SIGTERM failed", "process", p.name, "error", err)
	}
	select {
	case <-p.done:
		return
	case <-time.After(stopGrace):
	}
	slog.Warn("Process did not stop after SIGTERM; sending SIGKILL", "process", p.name,
		"grace", stopGrace)
	syscall.Kill(pgid, syscall.SIGKILL)
	<-p.done
}

// cpu returns the CPU time the live process used so far.
func (p *process) cpu() (time.Duration, error) { return processCPU(p.cmd.Process.Pid) }

// peakRSS returns the live process's peak resident set size in bytes.
func (p *process) peakRSS() (int64, error) { return peakRSS(p.cmd.Process.Pid) }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startDevServer starts the Temporal dev server on a free port of 127.0.0.1
// with an in-memory store and no Web UI, and returns it with its address.
func startDevServer(temporal, logDir string) (*process, string, error) {
	if _, err := os.Stat(temporal); err != nil {
		return nil, "", fmt.Errorf("the Temporal CLI is missing at %q: run `make tools`, or pass its "+
			"path with -temporal: %w", temporal, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	p, err := startProcess("temporal", logDir, nil, temporal, "server", "start-dev",
		"--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--headless", "--log-level", "error")
	if err != nil {
		return nil, "", err
	}
	return p, fmt.Sprintf("127.0.0.1:%d", port), nil
}

// waitForPort waits until something accepts TCP connections at address, the
// process exits, or ctx ends.
func waitForPort(ctx context.Context, p *process, address string) error {
	for {
		conn, err := net.DialTimeout("tcp", address, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens at %s: %w", address, ctx.Err())
		case <-p.done:
			return fmt.Errorf("%s exited before listening at %s (%v); see %s", p.name, address,
				p.err, p.log)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
