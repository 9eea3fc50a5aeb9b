package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is a child process the demo started and must stop.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

// startProcess starts name with args, its output appended to logDir/name.log.
// When firstLine is set, it waits for the first line of standard output and
// returns it.
func startProcess(name, logDir string, env []string, firstLine bool, path string,
	args ...string) (*process, string, error) {
	logFile, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout io.ReadCloser
	if firstLine {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, "", err
		}
	} else {
		cmd.Stdout = logFile
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, "", fmt.Errorf("start %s (%s): %w", name, path, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		logFile.Close()
	}()
	if !firstLine {
		return p, "", nil
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(logFile, r)
	}()
	select {
	case line := <-lines:
		return p, line, nil
	case err := <-p.done:
		return nil, "", fmt.Errorf("%s exited at start (%v); see %s", name, err,
			filepath.Join(logDir, name+".log"))
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, "", fmt.Errorf("%s printed nothing within 30s", name)
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after 15 seconds.
func (p *process) stop() {
	if p == nil {
		return
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// freePort returns preferred when nothing listens there, else a free port.
func freePort(preferred int) (int, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", preferred))
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitForPort waits until something accepts connections at addr.
func waitForPort(ctx context.Context, addr string) error {
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("nothing listens at %s", addr), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
