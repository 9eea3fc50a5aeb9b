package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sprigsync/sprigsync/sprig"
)

// TestMain lets the test binary act as the command when re-executed by
// TestCommand.
func TestMain(m *testing.M) {
	if os.Getenv("SPRIG_STANDIN_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestCommand(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0", "-key", "flag-key=development", "-reject", "bad=no thanks")
	cmd.Env = append(os.Environ(), "SPRIG_STANDIN_RUN_MAIN=1", "SPRIG_STANDIN_KEYS=env-key-1=production, env-key-2=production")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	lines := bufio.NewScanner(stdout)
	first := make(chan string, 1)
	go func() {
		if lines.Scan() {
			first <- lines.Text()
		}
		close(first)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(10 * time.Second):
		t.Fatalf("no first line; stderr: %s", stderr.String())
	}
	base, ok := strings.CutPrefix(line, "listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}

	ctx := context.Background()
	for key, env := range map[string]string{"flag-key": "development", "env-key-2": "production"} {
		c, err := sprig.NewClient(sprig.Options{BaseURL: base, APIKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.UpsertUser(ctx, []byte(`{"userId":"u-`+env+`"}`)); err != nil {
			t.Errorf("%s: %v", env, err)
		}
		if err := c.UpsertUser(ctx, []byte(`{"userId":"bad"}`)); sprig.Classify(err) != sprig.Rejected || !strings.Contains(err.Error(), "no thanks") {
			t.Errorf("reject list: %v", err)
		}
	}
	resp, err := http.Get(base + "/standin/users?environment=production")
	if err != nil {
		t.Fatal(err)
	}
	var users map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&users); err != nil || users["u-production"] == nil {
		t.Errorf("users = %v, %v", users, err)
	}
	resp.Body.Close()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
	logs := stderr.String()
	for _, want := range []string{"not Sprig", "stopped"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q: %s", want, logs)
		}
	}
	for _, key := range []string{"flag-key", "env-key-1", "env-key-2"} {
		if strings.Contains(logs, key) {
			t.Errorf("logs reveal key %q: %s", key, logs)
		}
	}
	if strings.Contains(logs, "POST") {
		t.Errorf("per-request logging at info level: %s", logs)
	}
}

func TestFlagKeyNotEchoed(t *testing.T) {
	err := run([]string{"-key", "sk_secret_without_env", "-addr", "127.0.0.1:0"})
	if err == nil {
		t.Fatal("run accepted -key without =ENVIRONMENT")
	}
	if strings.Contains(err.Error(), "sk_secret") {
		t.Errorf("error %q repeats the key", err)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-key", "novalue"},
		{"-key", "=env"},
		{"-server-error-share", "2"},
		{"-log-level", "loud"},
		{"extra"},
	} {
		if err := run(append(args, "-addr", "127.0.0.1:0")); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
