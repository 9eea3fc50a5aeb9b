package deploy

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
)

// Dummy values for the variables docker-compose.yml requires. Each is distinct,
// so a test can tell which variable reached which service.
const (
	testProductionKey  = "test-production-key"
	testDevelopmentKey = "test-development-key"
	testDBPassword     = "test-db-password"
)

// minStopGracePeriod is the worker's 30 s checkpoint window on SIGTERM
// (the syncworker.Config.StopTimeout default) plus an estimated 15 s margin for
// the last checkpoint writes and for closing the Temporal client.
const minStopGracePeriod = 45 * time.Second

// unset marks a variable that is listed under environment without a value,
// which Compose then takes from the host at run time.
const unset = "<unset>"

// testEnv returns the variables docker-compose.yml requires, set to the dummy
// values.
func testEnv() map[string]string {
	return map[string]string{
		"SPRIG_API_KEY_PRODUCTION":   testProductionKey,
		"SPRIG_API_KEY_DEVELOPMENT":  testDevelopmentKey,
		"TEMPORAL_POSTGRES_PASSWORD": testDBPassword,
	}
}

// repoRoot returns the absolute path of the repository root, where
// docker-compose.yml and the Dockerfile are.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatalf("resolve the repository root: %v", err)
	}
	return root
}

// loadCompose loads docker-compose.yml with env as the only source of
// variables. The test process environment and any .env file are ignored, so a
// key set on the machine cannot change the results.
func loadCompose(t *testing.T, env map[string]string, opts ...cli.ProjectOptionsFn) (
	*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	pairs := make([]string, 0, len(env))
	for name, value := range env {
		pairs = append(pairs, name+"="+value)
	}
	all := append([]cli.ProjectOptionsFn{cli.WithWorkingDirectory(root), cli.WithEnv(pairs)},
		opts...)
	options, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		all...)
	if err != nil {
		t.Fatalf("create the compose project options: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return options.LoadProject(ctx)
}

// mustLoadCompose loads docker-compose.yml like loadCompose and fails the test
// on an error.
func mustLoadCompose(t *testing.T, env map[string]string, opts ...cli.ProjectOptionsFn) *types.Project {
	t.Helper()
	project, err := loadCompose(t, env, opts...)
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return project
}

func mustService(t *testing.T, project *types.Project, name string) types.ServiceConfig {
	t.Helper()
	service, ok := project.Services[name]
	if !ok {
		t.Fatalf("docker-compose.yml has no service %q", name)
	}
	return service
}

// environment flattens a service's environment for comparison.
func environment(service types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for name, value := range service.Environment {
		if value == nil {
			env[name] = unset
			continue
		}
		env[name] = *value
	}
	return env
}

func TestComposeServiceNames(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	got := project.ServiceNames()
	slices.Sort(got)
	want := []string{"postgres", "temporal", "temporal-ui", "worker"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
}

func TestComposeImages(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	tests := []struct {
		service string
		image   string
	}{
		{"postgres", "postgres:16.14-alpine"},
		{"temporal", "temporalio/auto-setup:1.29.7"},
		{"temporal-ui", "temporalio/ui:2.42.1"},
		// The worker is built, not pulled.
		{"worker", ""},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			if got := mustService(t, project, tt.service).Image; got != tt.image {
				t.Errorf("image = %q, want %q", got, tt.image)
			}
		})
	}
}

// imageTag returns the tag of an image reference such as
// "registry:5000/name:tag", or "" when it has none.
func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, _ := strings.Cut(name, ":")
	return tag
}

func TestImageTag(t *testing.T) {
	tests := map[string]string{
		"postgres":                       "",
		"postgres:16.14-alpine":          "16.14-alpine",
		"localhost:5000/temporal":        "",
		"localhost:5000/temporal:1.29.7": "1.29.7",
		"temporalio/ui:2.42.1@sha256:0":  "2.42.1",
	}
	for image, want := range tests {
		if got := imageTag(image); got != want {
			t.Errorf("imageTag(%q) = %q, want %q", image, got, want)
		}
	}
}

// TestComposeImagesPinned also covers services added later. Each service is
// either built here or pulled at an explicit tag other than latest.
func TestComposeImagesPinned(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	for name, service := range project.Services {
		t.Run(name, func(t *testing.T) {
			if service.Build != nil {
				if service.Image != "" {
					t.Errorf("image = %q on a built service, want none", service.Image)
				}
				return
			}
			tag := imageTag(service.Image)
			if tag == "" {
				t.Errorf("image %q has no tag, want an explicit version", service.Image)
			}
			if tag == "latest" {
				t.Errorf("image %q uses latest, want an explicit version", service.Image)
			}
		})
	}
}

func TestComposeWorkerBuild(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	build := mustService(t, project, "worker").Build
	if build == nil {
		t.Fatal("worker has no build section, want the Dockerfile at the repository root")
	}
	if build.Context != repoRoot(t) {
		t.Errorf("build context = %q, want %q", build.Context, repoRoot(t))
	}
	if build.Dockerfile != "Dockerfile" {
		t.Errorf("build dockerfile = %q, want %q", build.Dockerfile, "Dockerfile")
	}
}

func TestComposeDependsOn(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	healthy := func(name string) types.DependsOnConfig {
		return types.DependsOnConfig{
			name: {Condition: types.ServiceConditionHealthy, Required: true},
		}
	}
	tests := []struct {
		service string
		want    types.DependsOnConfig
	}{
		{"postgres", nil},
		{"temporal", healthy("postgres")},
		{"temporal-ui", healthy("temporal")},
		{"worker", healthy("temporal")},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			got := mustService(t, project, tt.service).DependsOn
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("depends_on (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComposeEnvironment(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	tests := []struct {
		service string
		want    map[string]string
	}{
		{"postgres", map[string]string{
			"POSTGRES_USER":     "temporal",
			"POSTGRES_PASSWORD": testDBPassword,
		}},
		{"temporal", map[string]string{
			"DB":                          "postgres12",
			"DB_PORT":                     "5432",
			"POSTGRES_SEEDS":              "postgres",
			"POSTGRES_USER":               "temporal",
			"POSTGRES_PWD":                testDBPassword,
			"DEFAULT_NAMESPACE_RETENTION": "7d",
			"TEMPORAL_ADDRESS":            "temporal:7233",
		}},
		{"temporal-ui", map[string]string{
			"TEMPORAL_ADDRESS":      "temporal:7233",
			"TEMPORAL_CORS_ORIGINS": "http://127.0.0.1:8080,http://localhost:8080",
		}},
		{"worker", map[string]string{
			"TEMPORAL_ADDRESS":          "temporal:7233",
			"TEMPORAL_NAMESPACE":        "default",
			"SPRIGSYNC_STATE_DIR":       "/var/lib/sprigsync",
			"SPRIG_BASE_URL":            "",
			"SPRIG_API_KEY_PRODUCTION":  testProductionKey,
			"SPRIG_API_KEY_DEVELOPMENT": testDevelopmentKey,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			got := environment(mustService(t, project, tt.service))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComposeOptionalVariables(t *testing.T) {
	env := testEnv()
	env["SPRIG_BASE_URL"] = "http://127.0.0.1:8099"
	env["SPRIG_API_KEY_DEVELOPMENT"] = ""
	project := mustLoadCompose(t, env)

	got := environment(mustService(t, project, "worker"))
	want := map[string]string{
		"TEMPORAL_ADDRESS":          "temporal:7233",
		"TEMPORAL_NAMESPACE":        "default",
		"SPRIGSYNC_STATE_DIR":       "/var/lib/sprigsync",
		"SPRIG_BASE_URL":            "http://127.0.0.1:8099",
		"SPRIG_API_KEY_PRODUCTION":  testProductionKey,
		"SPRIG_API_KEY_DEVELOPMENT": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("worker environment (-want +got):\n%s", diff)
	}
}

// TestComposeKeysFromEnvironment loads the file without interpolation, so the
// key variables must still be the ${...} expressions and not literal keys.
func TestComposeKeysFromEnvironment(t *testing.T) {
	project := mustLoadCompose(t, testEnv(), cli.WithInterpolation(false))

	got := environment(mustService(t, project, "worker"))
	want := map[string]string{
		"SPRIG_API_KEY_PRODUCTION": "${SPRIG_API_KEY_PRODUCTION:?set SPRIG_API_KEY_PRODUCTION " +
			"to the Sprig API key of the production environment}",
		"SPRIG_API_KEY_DEVELOPMENT": "${SPRIG_API_KEY_DEVELOPMENT?set SPRIG_API_KEY_DEVELOPMENT " +
			"to the Sprig API key of the development environment, " +
			"or to an empty value to run without one}",
	}
	for name, expression := range want {
		if got[name] != expression {
			t.Errorf("raw %s = %q, want %q", name, got[name], expression)
		}
	}
}

// TestComposeKeysReachWorkerOnly checks that the interpolated keys appear in
// the worker's environment and nowhere else in the resolved project.
func TestComposeKeysReachWorkerOnly(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	resolved, err := project.MarshalYAML()
	if err != nil {
		t.Fatalf("marshal the resolved project: %v", err)
	}
	for _, key := range []string{testProductionKey, testDevelopmentKey} {
		if n := strings.Count(string(resolved), key); n != 1 {
			t.Errorf("key %q occurs %d times in the resolved project, want 1 (the worker)", key, n)
		}
	}
}

// TestComposeFileHasNoKeys reads the file text. Every line that names a key
// variable must be a comment or set it from ${...}.
func TestComposeFileHasNoKeys(t *testing.T) {
	file, err := os.Open(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatalf("open docker-compose.yml: %v", err)
	}
	defer file.Close()

	scanner := bufio.NewScanner(file)
	lineNumber := 0
	for scanner.Scan() {
		lineNumber++
		line := strings.TrimSpace(scanner.Text())
		if strings.HasPrefix(line, "#") || !strings.Contains(line, "SPRIG_API_KEY_") {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		if !strings.HasPrefix(strings.TrimSpace(value), "${"+name) {
			t.Errorf("line %d: %q sets a key variable without ${%s...}", lineNumber, line, name)
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("read docker-compose.yml: %v", err)
	}
}

func TestComposeRequiredVariables(t *testing.T) {
	const (
		productionReason = "set SPRIG_API_KEY_PRODUCTION to the Sprig API key of the " +
			"production environment"
		developmentReason = "set SPRIG_API_KEY_DEVELOPMENT to the Sprig API key of the " +
			"development environment, or to an empty value to run without one"
		passwordReason = "set TEMPORAL_POSTGRES_PASSWORD to the password of Temporal's " +
			"PostgreSQL user"
	)
	tests := []struct {
		name     string
		variable string
		// present is false for an unset variable, true for one set to "".
		present bool
		// paths are the settings that use the variable, in the order the
		// loader reports them (sorted by path).
		paths  []string
		reason string
	}{
		{"production key unset", "SPRIG_API_KEY_PRODUCTION", false,
			[]string{"services.worker.environment.SPRIG_API_KEY_PRODUCTION"}, productionReason},
		{"production key empty", "SPRIG_API_KEY_PRODUCTION", true,
			[]string{"services.worker.environment.SPRIG_API_KEY_PRODUCTION"}, productionReason},
		{"development key unset", "SPRIG_API_KEY_DEVELOPMENT", false,
			[]string{"services.worker.environment.SPRIG_API_KEY_DEVELOPMENT"}, developmentReason},
		{"database password unset", "TEMPORAL_POSTGRES_PASSWORD", false,
			[]string{
				"services.postgres.environment.POSTGRES_PASSWORD",
				"services.temporal.environment.POSTGRES_PWD",
			}, passwordReason},
		{"database password empty", "TEMPORAL_POSTGRES_PASSWORD", true,
			[]string{
				"services.postgres.environment.POSTGRES_PASSWORD",
				"services.temporal.environment.POSTGRES_PWD",
			}, passwordReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv()
			delete(env, tt.variable)
			if tt.present {
				env[tt.variable] = ""
			}

			_, err := loadCompose(t, env)
			if err == nil {
				t.Fatalf("docker-compose.yml loaded, want an error for %s", tt.variable)
			}
			// The loader reports one error per setting, joined by newlines.
			var lines []string
			for _, path := range tt.paths {
				lines = append(lines, "error while interpolating "+path+": required variable "+
					tt.variable+" is missing a value: "+tt.reason)
			}
			if diff := cmp.Diff(lines, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("error message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComposePublishedPorts(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	tests := []struct {
		service string
		want    []types.ServicePortConfig
	}{
		{"postgres", nil},
		{"temporal", []types.ServicePortConfig{
			{Mode: "ingress", HostIP: "127.0.0.1", Target: 7233, Published: "7233", Protocol: "tcp"},
		}},
		{"temporal-ui", []types.ServicePortConfig{
			{Mode: "ingress", HostIP: "127.0.0.1", Target: 8080, Published: "8080", Protocol: "tcp"},
		}},
		{"worker", nil},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			got := mustService(t, project, tt.service).Ports
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
		})
	}
}

// TestComposePortsLoopbackOnly also covers services added later.
func TestComposePortsLoopbackOnly(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	for name, service := range project.Services {
		for _, port := range service.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("service %s publishes port %d on host IP %q, want 127.0.0.1",
					name, port.Target, port.HostIP)
			}
		}
	}
}

// volume is the part of a volume mount these tests compare.
type volume struct {
	Type     string
	Source   string
	Target   string
	ReadOnly bool
	// CreateHostPath is set for bind mounts only.
	CreateHostPath *bool
}

func volumes(service types.ServiceConfig) []volume {
	var mounts []volume
	for _, v := range service.Volumes {
		mount := volume{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		if v.Bind != nil {
			create := bool(v.Bind.CreateHostPath)
			mount.CreateHostPath = &create
		}
		mounts = append(mounts, mount)
	}
	return mounts
}

func TestComposeVolumes(t *testing.T) {
	root := repoRoot(t)
	noCreate := false
	stateVolume := volume{Type: "volume", Source: "sprigsync-state", Target: "/var/lib/sprigsync"}

	tests := []struct {
		name         string
		snapshotsDir string
		service      string
		want         []volume
	}{
		{"postgres", "", "postgres", []volume{
			{Type: "volume", Source: "postgres-data", Target: "/var/lib/postgresql/data"},
		}},
		{"worker default snapshots", "", "worker", []volume{
			stateVolume,
			{Type: "bind", Source: filepath.Join(root, "snapshots"), Target: "/snapshots",
				ReadOnly: true, CreateHostPath: &noCreate},
		}},
		{"worker relative snapshots", "exports/users", "worker", []volume{
			stateVolume,
			{Type: "bind", Source: filepath.Join(root, "exports/users"), Target: "/snapshots",
				ReadOnly: true, CreateHostPath: &noCreate},
		}},
		{"worker absolute snapshots", "/data/exports", "worker", []volume{
			stateVolume,
			{Type: "bind", Source: "/data/exports", Target: "/snapshots",
				ReadOnly: true, CreateHostPath: &noCreate},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv()
			if tt.snapshotsDir != "" {
				env["SPRIGSYNC_SNAPSHOTS_DIR"] = tt.snapshotsDir
			}
			project := mustLoadCompose(t, env)

			got := volumes(mustService(t, project, tt.service))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("volumes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComposeNamedVolumes(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	var got []string
	for name := range project.Volumes {
		got = append(got, name)
	}
	slices.Sort(got)
	want := []string{"postgres-data", "sprigsync-state"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("named volumes (-want +got):\n%s", diff)
	}
}

func TestComposeHealthchecks(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	tests := []struct {
		service string
		want    types.HealthCheckTest
	}{
		{"postgres", types.HealthCheckTest{
			"CMD", "pg_isready", "--username=temporal", "--dbname=temporal",
		}},
		{"temporal", types.HealthCheckTest{
			"CMD", "temporal", "operator", "namespace", "describe",
			"--namespace", "default", "--address", "temporal:7233",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			healthcheck := mustService(t, project, tt.service).HealthCheck
			if healthcheck == nil {
				t.Fatal("no healthcheck, want one: other services wait for service_healthy")
			}
			if diff := cmp.Diff(tt.want, healthcheck.Test); diff != "" {
				t.Errorf("healthcheck test (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComposeRestartPolicy(t *testing.T) {
	project := mustLoadCompose(t, testEnv())

	for name, service := range project.Services {
		if service.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("service %s: restart = %q, want %q",
				name, service.Restart, types.RestartPolicyUnlessStopped)
		}
	}
}

func TestComposeWorkerStop(t *testing.T) {
	project := mustLoadCompose(t, testEnv())
	worker := mustService(t, project, "worker")

	if worker.StopSignal != "SIGTERM" {
		t.Errorf("stop_signal = %q, want SIGTERM (the signal the worker checkpoints on)",
			worker.StopSignal)
	}
	if worker.StopGracePeriod == nil {
		t.Fatalf("stop_grace_period is not set, want at least %s", minStopGracePeriod)
	}
	if got := time.Duration(*worker.StopGracePeriod); got < minStopGracePeriod {
		t.Errorf("stop_grace_period = %s, want at least %s", got, minStopGracePeriod)
	}
}

// instructions returns the arguments of every instruction named keyword in a
// Dockerfile, in order. It handles the plain form used here: one instruction
// per line, no line continuations.
func instructions(t *testing.T, keyword string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	var args []string
	for _, line := range strings.Split(string(data), "\n") {
		word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.EqualFold(word, keyword) {
			args = append(args, strings.TrimSpace(rest))
		}
	}
	return args
}

func TestDockerfile(t *testing.T) {
	tests := []struct {
		keyword string
		want    []string
	}{
		{"FROM", []string{
			"golang:1.26.8 AS build",
			"gcr.io/distroless/static-debian12:nonroot",
		}},
		{"USER", []string{"65532:65532"}},
		{"ENTRYPOINT", []string{`["/usr/local/bin/worker"]`}},
		{"ENV", []string{"SPRIGSYNC_STATE_DIR=/var/lib/sprigsync"}},
		{"RUN", []string{
			"go mod download",
			`CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./worker ./starter`,
			"mkdir /out/state",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.keyword, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, instructions(t, tt.keyword)); diff != "" {
				t.Errorf("%s instructions (-want +got):\n%s", tt.keyword, diff)
			}
		})
	}
}
