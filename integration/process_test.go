package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// workerBinary is built once per test binary, the first time a test needs a
// worker in its own process.
var workerBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sprigsync-worker-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "worker")
	out, err := exec.Command("go", "build", "-o", path, "../worker").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build the worker: %v\n%s", err, out)
	}
	return path, nil
})

// workerProcess is a worker running as its own process, so a test can kill
// it with SIGKILL as a crash would.
type workerProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startWorkerProcess starts a worker process on the harness's task queue,
// state directory and stand-in. extraEnv adds variables such as the fault
// injection pause point.
func (h *harness) startWorkerProcess(extraEnv ...string) *workerProcess {
	h.t.Helper()
	path, err := workerBinary()
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(path, "-address", devServer.FrontendHostPort(), "-task-queue", h.taskQueue,
		"-state-dir", h.stateDir, "-sprig-url", h.url, "-stop-timeout", "5s")
	cmd.Env = append(os.Environ(), "SPRIG_API_KEY_PRODUCTION="+h.key)
	cmd.Env = append(cmd.Env, extraEnv...)
	// A worker outlives a test binary that crashed or timed out unless the
	// kernel kills it with its parent.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logPath := filepath.Join(h.t.TempDir(), "worker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	p := &workerProcess{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	h.t.Cleanup(func() {
		p.kill()
		if h.t.Failed() {
			out, _ := os.ReadFile(logPath)
			h.t.Logf("worker log:\n%s", tail(out, 4000))
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// kill stops the worker with SIGKILL, as a crash or a lost machine would,
// and waits for it to exit.
func (p *workerProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// terminate stops the worker with SIGTERM, as a deployment would, and
// waits for it to exit.
func (p *workerProcess) terminate() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
}

// waitForFile waits until path exists.
func waitForFile(t *testing.T, path string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within %s", path, limit)
}
