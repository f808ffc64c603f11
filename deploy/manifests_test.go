package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"jobsshd/internal/testenv"
)

// nonFlagVariables are the JOBSSHD_* variables that are not a flag's variable, with what
// reads them; every other JOBSSHD_* name in a manifest or entrypoint.sh must be the
// variable of a flag that `jobsshd --help` lists. This is the only list of them.
var nonFlagVariables = map[string]string{
	"JOBSSHD_ENABLE":   "entrypoint.sh",
	"JOBSSHD_REQUIRED": "entrypoint.sh",
	"JOBSSHD_BIN":      "entrypoint.sh",
	// Read by jobsshd from its environment only: a secret has no place on a command line.
	"JOBSSHD_JOB_SECRET": "jobsshd",
	// Inline authorized_keys lines, as a platform passes the user's key (from a Secret or
	// ConfigMap).
	"JOBSSHD_AUTHORIZED_KEYS": "jobsshd",
}

// debianPython has python3-yaml (apt-get install python3-yaml); a python3 earlier on
// PATH may not.
const debianPython = "/usr/bin/python3"

// object is the part of a Kubernetes object the tests look at.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Data map[string]string `json:"data"`
	Spec json.RawMessage   `json:"spec"`
}

type podSpec struct {
	Containers []container `json:"containers"`
}

type container struct {
	Name    string   `json:"name"`
	Image   string   `json:"image"`
	Command []string `json:"command"`
	Args    []string `json:"args"`
	Env     []envVar `json:"env"`
	Ports   []struct {
		Name          string `json:"name"`
		ContainerPort int    `json:"containerPort"`
	} `json:"ports"`
}

type envVar struct {
	Name      string  `json:"name"`
	Value     *string `json:"value"` // Kubernetes wants strings: "1", not 1
	ValueFrom *struct {
		SecretKeyRef    *keyRef `json:"secretKeyRef"`
		ConfigMapKeyRef *keyRef `json:"configMapKeyRef"`
	} `json:"valueFrom"`
}

type keyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type volcanoJobSpec struct {
	MinAvailable  int                        `json:"minAvailable"`
	SchedulerName string                     `json:"schedulerName"`
	Plugins       map[string]json.RawMessage `json:"plugins"`
	Tasks         []struct {
		Name     string `json:"name"`
		Replicas int    `json:"replicas"`
		Template struct {
			Spec podSpec `json:"spec"`
		} `json:"template"`
	} `json:"tasks"`
}

type serviceSpec struct {
	Type     string            `json:"type"`
	Selector map[string]string `json:"selector"`
	Ports    []struct {
		Name       string          `json:"name"`
		Port       int             `json:"port"`
		TargetPort json.RawMessage `json:"targetPort"` // a number or a port name
	} `json:"ports"`
}

// loadManifest parses a YAML file of one or more documents with Debian's python3-yaml
// (safe_load_all, so no YAML tags run code) and returns its objects.
func loadManifest(t *testing.T, name string) []object {
	t.Helper()
	testenv.RequireTool(t, debianPython, "python3-yaml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const toJSON = "import json, sys, yaml\njson.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)"
	cmd := exec.CommandContext(ctx, debianPython, "-c", toJSON)
	in, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stderr = in, &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parse %s as YAML: %v\n%s(python3-yaml missing? apt-get install python3-yaml)", name, err, stderr.String())
	}
	var objs []object
	if err := json.Unmarshal(out, &objs); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return objs
}

// objectOfKind returns the only object of kind in objs.
func objectOfKind(t *testing.T, file string, objs []object, apiVersion, kind string) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.Kind == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d objects of kind %s, want 1", file, len(found), kind)
	}
	if found[0].APIVersion != apiVersion {
		t.Errorf("%s: %s has apiVersion %q, want %q", file, kind, found[0].APIVersion, apiVersion)
	}
	return found[0]
}

func decodeSpec(t *testing.T, file string, o object, spec any) {
	t.Helper()
	if err := json.Unmarshal(o.Spec, spec); err != nil {
		t.Fatalf("%s: %s %s spec: %v", file, o.Kind, o.Metadata.Name, err)
	}
}

func (c container) env(name string) (envVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return envVar{}, false
}

// literal returns the value of the variable name, failing the test when it is missing
// or not a literal value.
func (c container) literal(t *testing.T, file, name string) string {
	t.Helper()
	e, ok := c.env(name)
	if !ok || e.Value == nil {
		t.Fatalf("%s: container %s has no %s value", file, c.Name, name)
	}
	return *e.Value
}

// checkJobContainer checks what every container running a job with jobsshd needs: the
// image's entrypoint wrapping the job, jobsshd enabled, and its port declared.
func checkJobContainer(t *testing.T, file string, c container) {
	t.Helper()
	ep := dockerfileEntrypoint(t)
	if !slices.Equal(c.Command, []string{ep}) || len(c.Args) == 0 {
		t.Errorf("%s: container %s runs %q %q, want command [%s] and the job as args", file, c.Name, c.Command, c.Args, ep)
	}
	if v := c.literal(t, file, "JOBSSHD_ENABLE"); v != "1" {
		t.Errorf("%s: JOBSSHD_ENABLE=%q, want \"1\"", file, v)
	}
	port := c.literal(t, file, "JOBSSHD_PORT")
	if c.containerPort("ssh") == 0 || strconv.Itoa(c.containerPort("ssh")) != port {
		t.Errorf("%s: containerPort named ssh is %d, JOBSSHD_PORT is %q: make them equal", file, c.containerPort("ssh"), port)
	}
}

func (c container) containerPort(name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// dockerfileEntrypoint is the job-example image's ENTRYPOINT, the path manifests run.
func dockerfileEntrypoint(t *testing.T) string {
	t.Helper()
	job := stageNamed(t, parseDockerfile(t, filepath.Join("..", "Dockerfile")), "job-example")
	var ep []string
	if err := json.Unmarshal([]byte(instructionArgs(job, "ENTRYPOINT")), &ep); err != nil || len(ep) != 1 {
		t.Fatalf("Dockerfile job-example ENTRYPOINT %q: want one path in exec form (%v)", instructionArgs(job, "ENTRYPOINT"), err)
	}
	return ep[0]
}

func TestVolcanoJob(t *testing.T) {
	const file = "volcano-job.yaml"
	objs := loadManifest(t, file)
	job := objectOfKind(t, file, objs, "batch.volcano.sh/v1alpha1", "Job")
	var spec volcanoJobSpec
	decodeSpec(t, file, job, &spec)
	for _, p := range []string{"svc", "env"} {
		if _, ok := spec.Plugins[p]; !ok {
			t.Errorf("%s: plugin %s missing (svc gives VC_WORKER_HOSTS and hostnames, env VC_TASK_INDEX)", file, p)
		}
	}
	if spec.SchedulerName != "volcano" {
		t.Errorf("%s: schedulerName %q, want volcano", file, spec.SchedulerName)
	}
	if len(spec.Tasks) != 1 || spec.Tasks[0].Name != "worker" {
		t.Fatalf("%s: want one task named worker, got %d", file, len(spec.Tasks))
	}
	task := spec.Tasks[0]
	if task.Replicas < 2 || spec.MinAvailable != task.Replicas {
		t.Errorf("%s: %d worker replicas, minAvailable %d: want 2 or more, all started together", file, task.Replicas, spec.MinAvailable)
	}
	if len(task.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: worker has %d containers, want 1", file, len(task.Template.Spec.Containers))
	}
	c := task.Template.Spec.Containers[0]
	checkJobContainer(t, file, c)
	e, ok := c.env("JOBSSHD_JOB_SECRET")
	if !ok || e.Value != nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == "" {
		t.Errorf("%s: JOBSSHD_JOB_SECRET must come from a Secret (valueFrom.secretKeyRef), never a literal", file)
	}
	checkVariables(t, file, objs)
}

func TestPodAndService(t *testing.T) {
	const file = "pod.yaml"
	objs := loadManifest(t, file)
	pod := objectOfKind(t, file, objs, "v1", "Pod")
	var ps podSpec
	decodeSpec(t, file, pod, &ps)
	if len(ps.Containers) != 1 {
		t.Fatalf("%s: pod has %d containers, want 1", file, len(ps.Containers))
	}
	c := ps.Containers[0]
	checkJobContainer(t, file, c)
	if c.literal(t, file, "JOBSSHD_USER") == "" {
		t.Errorf("%s: JOBSSHD_USER is empty", file)
	}

	// The user's key comes from a ConfigMap or Secret defined beside the pod.
	e, ok := c.env("JOBSSHD_AUTHORIZED_KEYS")
	if !ok || e.ValueFrom == nil || (e.ValueFrom.ConfigMapKeyRef == nil) == (e.ValueFrom.SecretKeyRef == nil) {
		t.Fatalf("%s: JOBSSHD_AUTHORIZED_KEYS must come from one configMapKeyRef or secretKeyRef", file)
	}
	ref, kind := e.ValueFrom.ConfigMapKeyRef, "ConfigMap"
	if ref == nil {
		ref, kind = e.ValueFrom.SecretKeyRef, "Secret"
	}
	holder := objectOfKind(t, file, objs, "v1", kind)
	if holder.Metadata.Name != ref.Name || !strings.HasPrefix(holder.Data[ref.Key], "ssh-") {
		t.Errorf("%s: JOBSSHD_AUTHORIZED_KEYS names %s %s key %s; the file's %s is %q with data keys %v (want an authorized_keys line)",
			file, kind, ref.Name, ref.Key, kind, holder.Metadata.Name, slices.Sorted(maps.Keys(holder.Data)))
	}

	svc := objectOfKind(t, file, objs, "v1", "Service")
	var ss serviceSpec
	decodeSpec(t, file, svc, &ss)
	if ss.Type != "NodePort" && ss.Type != "ClusterIP" && ss.Type != "" {
		t.Errorf("%s: Service type %q, want NodePort or ClusterIP", file, ss.Type)
	}
	if len(ss.Selector) == 0 {
		t.Errorf("%s: Service has no selector", file)
	}
	for k, v := range ss.Selector {
		if pod.Metadata.Labels[k] != v {
			t.Errorf("%s: Service selects %s=%s, the pod's labels are %v", file, k, v, pod.Metadata.Labels)
		}
	}
	if len(ss.Ports) != 1 {
		t.Fatalf("%s: Service has %d ports, want 1", file, len(ss.Ports))
	}
	want := c.literal(t, file, "JOBSSHD_PORT")
	target := strings.Trim(string(ss.Ports[0].TargetPort), `"`)
	if n := c.containerPort(target); n != 0 { // a port name
		target = strconv.Itoa(n)
	}
	if target != want {
		t.Errorf("%s: Service targets port %s, jobsshd listens on JOBSSHD_PORT=%s", file, ss.Ports[0].TargetPort, want)
	}
	checkVariables(t, file, objs)
}

// checkVariables fails the test for any JOBSSHD_* variable in the file's containers
// that neither jobsshd (a flag's variable) nor nonFlagVariables knows.
func checkVariables(t *testing.T, file string, objs []object) {
	t.Helper()
	flags := flagVariables(t)
	for _, o := range objs {
		var containers []container
		switch o.Kind {
		case "Pod":
			var ps podSpec
			decodeSpec(t, file, o, &ps)
			containers = ps.Containers
		case "Job":
			var js volcanoJobSpec
			decodeSpec(t, file, o, &js)
			for _, task := range js.Tasks {
				containers = append(containers, task.Template.Spec.Containers...)
			}
		}
		for _, c := range containers {
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "JOBSSHD_") && !flags[e.Name] && nonFlagVariables[e.Name] == "" {
					t.Errorf("%s: %s is neither a variable of a jobsshd flag (%v) nor in nonFlagVariables", file, e.Name, slices.Sorted(maps.Keys(flags)))
				}
			}
		}
	}
}

// TestEntrypointVariables: entrypoint.sh reads only flag variables and the entrypoint
// entries of nonFlagVariables, and reads every one of those entries.
func TestEntrypointVariables(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "entrypoint.sh"))
	if err != nil {
		t.Fatal(err)
	}
	flags := flagVariables(t)
	read := map[string]bool{}
	ref := regexp.MustCompile(`\$\{?(JOBSSHD_[A-Z0-9_]+)`)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, m := range ref.FindAllStringSubmatch(line, -1) {
			read[m[1]] = true
			if !flags[m[1]] && nonFlagVariables[m[1]] != "entrypoint.sh" {
				t.Errorf("entrypoint.sh reads %s, which is no flag's variable and not an entrypoint.sh entry of nonFlagVariables", m[1])
			}
		}
	}
	for name, reader := range nonFlagVariables {
		if reader == "entrypoint.sh" && !read[name] {
			t.Errorf("nonFlagVariables says entrypoint.sh reads %s; it does not", name)
		}
	}
}

// flagVariables builds jobsshd with the Dockerfile's build command and returns the
// variables of the flags its --help lists: JOBSSHD_ + the flag in upper case, '-' → '_'.
func flagVariables(t *testing.T) map[string]bool {
	t.Helper()
	build := dockerfileBuild(t, stageNamed(t, parseDockerfile(t, filepath.Join("..", "Dockerfile")), "build"))
	bin := filepath.Join(t.TempDir(), "jobsshd")
	args := slices.Clone(build.Args)
	args[slices.Index(args, "OUT")] = bin
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), build.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	help, err := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("jobsshd --help: %v\n%s", err, help)
	}
	vars := map[string]bool{}
	flagLine := regexp.MustCompile(`(?m)^\s+--?([a-z][a-z0-9-]*)`)
	for _, m := range flagLine.FindAllStringSubmatch(string(help), -1) {
		vars["JOBSSHD_"+strings.ToUpper(strings.ReplaceAll(m[1], "-", "_"))] = true
	}
	// Guard against a --help format this parser no longer understands.
	for _, known := range []string{"JOBSSHD_PORT", "JOBSSHD_USER", "JOBSSHD_STATE_DIR"} {
		if !vars[known] {
			t.Fatalf("jobsshd --help: found flags %v, not %s; update flagVariables to the help format:\n%s", slices.Sorted(maps.Keys(vars)), known, help)
		}
	}
	for name := range nonFlagVariables {
		if vars[name] {
			t.Logf("%s is now a flag's variable too; it can leave nonFlagVariables", name)
		}
	}
	return vars
}
