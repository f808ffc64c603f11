package deploy

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	Line int    // where it starts, for messages
	Op   string // upper case: FROM, RUN, COPY, ...
	Args string
}

// stage is one FROM ... AS name section.
type stage struct {
	Name, Image  string
	Instructions []instruction
}

// parseDockerfile splits a Dockerfile into stages. It knows what this repository's
// Dockerfile uses: comments, backslash continuations, FROM IMAGE AS NAME.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []stage
	var cur strings.Builder
	start, n := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if body, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(line)
		op, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{Line: start, Op: strings.ToUpper(op), Args: strings.TrimSpace(args)}
		if in.Op == "FROM" {
			f := strings.Fields(in.Args)
			if len(f) != 3 || !strings.EqualFold(f[1], "AS") {
				t.Fatalf("%s:%d: FROM %s: want FROM IMAGE AS NAME (every stage is named)", path, in.Line, in.Args)
			}
			stages = append(stages, stage{Name: f[2], Image: f[0]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s:%d: %s before the first FROM", path, in.Line, in.Op)
		}
		s := &stages[len(stages)-1]
		s.Instructions = append(s.Instructions, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

func stageNamed(t *testing.T, stages []stage, name string) stage {
	t.Helper()
	for _, s := range stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("Dockerfile has no stage %q (README documents `docker build --target %s`)", name, name)
	return stage{}
}

// copyInstr is a parsed COPY: its --flags and its sources and destination.
type copyInstr struct {
	Flags map[string]string
	Srcs  []string
	Dst   string
}

func (s stage) copies() []copyInstr {
	var out []copyInstr
	for _, in := range s.Instructions {
		if in.Op != "COPY" {
			continue
		}
		c := copyInstr{Flags: map[string]string{}}
		f := strings.Fields(in.Args)
		for len(f) > 0 && strings.HasPrefix(f[0], "--") {
			k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
			c.Flags[k] = v
			f = f[1:]
		}
		if len(f) >= 2 {
			c.Srcs, c.Dst = f[:len(f)-1], f[len(f)-1]
		}
		out = append(out, c)
	}
	return out
}

// copyTo returns the COPY in s that writes dst, failing the test when there is none.
func (s stage) copyTo(t *testing.T, dst string) copyInstr {
	t.Helper()
	for _, c := range s.copies() {
		if c.Dst == dst {
			return c
		}
	}
	t.Fatalf("Dockerfile stage %s has no COPY to %s", s.Name, dst)
	return copyInstr{}
}

// buildCommand is a `go build` command: its environment assignments and its arguments,
// with the output path (the value of -o) kept apart, since each place builds elsewhere.
type buildCommand struct {
	Env  []string // sorted
	Args []string // go build ..., with "-o" followed by "OUT"
	Out  string
}

func (b buildCommand) String() string {
	return strings.Join(b.Env, " ") + " " + strings.Join(b.Args, " ")
}

func (b buildCommand) equal(o buildCommand) bool {
	return slices.Equal(b.Env, o.Env) && slices.Equal(b.Args, o.Args)
}

// newBuildCommand makes a buildCommand from an environment and an argument list.
func newBuildCommand(t *testing.T, where string, env, args []string) buildCommand {
	t.Helper()
	b := buildCommand{Env: slices.Sorted(slices.Values(env))}
	for i := 0; i < len(args); i++ {
		b.Args = append(b.Args, args[i])
		if args[i] == "-o" && i+1 < len(args) {
			b.Out = args[i+1]
			b.Args = append(b.Args, "OUT")
			i++
		}
	}
	if len(b.Args) < 2 || b.Args[0] != "go" || b.Args[1] != "build" || b.Out == "" {
		t.Fatalf("%s: %q is not `go build -o OUT ...`", where, strings.Join(args, " "))
	}
	return b
}

// shellBuildCommand parses a shell line `VAR=value ... go build ...` (no quoting).
func shellBuildCommand(t *testing.T, where, line string) buildCommand {
	t.Helper()
	f := strings.Fields(line)
	i := 0
	for i < len(f) && strings.Contains(f[i], "=") && !strings.HasPrefix(f[i], "-") {
		i++
	}
	return newBuildCommand(t, where, f[:i], f[i:])
}

// dockerfileBuild is the go build RUN of the build stage.
func dockerfileBuild(t *testing.T, s stage) buildCommand {
	t.Helper()
	var found []instruction
	for _, in := range s.Instructions {
		if in.Op == "RUN" && strings.Contains(in.Args, "go build") {
			found = append(found, in)
		}
	}
	if len(found) != 1 {
		t.Fatalf("Dockerfile stage %s: %d RUN lines with go build, want 1", s.Name, len(found))
	}
	return shellBuildCommand(t, "Dockerfile:"+strconv.Itoa(found[0].Line), found[0].Args)
}

// harnessBuild reads the build command integration/harness_test.go runs from its
// source: `NAME := exec.CommandContext(ctx, "go", "build", ...)` and
// `NAME.Env = append(os.Environ(), "VAR=value", ...)`.
func harnessBuild(t *testing.T) buildCommand {
	t.Helper()
	path := filepath.Join("..", "integration", "harness_test.go")
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var (
		name      string
		args, env []string
		envFound  bool
	)
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	ast.Inspect(file, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		call, ok := as.Rhs[0].(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "CommandContext" && len(call.Args) > 2 {
			if first, _ := str(call.Args[1]); first != "go" {
				return true
			}
			if second, _ := str(call.Args[2]); second != "build" {
				return true
			}
			id, ok := as.Lhs[0].(*ast.Ident)
			if !ok {
				t.Fatalf("%s: go build command not assigned to a variable", path)
			}
			name = id.Name
			for _, a := range call.Args[1:] {
				if s, ok := str(a); ok {
					args = append(args, s)
				} else {
					args = append(args, "$"+exprName(a)) // the output path variable
				}
			}
		}
		if sel, ok := as.Lhs[0].(*ast.SelectorExpr); ok && sel.Sel.Name == "Env" {
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == name && name != "" {
				envFound = true
				for _, a := range call.Args[1:] { // after os.Environ()
					s, ok := str(a)
					if !ok {
						t.Fatalf("%s: %s.Env has a value that is not a string literal", path, name)
					}
					env = append(env, s)
				}
			}
		}
		return true
	})
	if name == "" || !envFound {
		t.Fatalf("%s: no `X := exec.CommandContext(ctx, \"go\", \"build\", ...)` with `X.Env = append(os.Environ(), ...)`; update harnessBuild to how the harness builds", path)
	}
	return newBuildCommand(t, path, env, args)
}

// exprName names an expression for messages.
func exprName(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return "expr"
}

// readmeBuild is the build command of README's "Run it" (the first command before &&).
func readmeBuild(t *testing.T) buildCommand {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "go build") && !strings.Contains(line, "`") {
			cmd, _, _ := strings.Cut(line, "&&")
			return shellBuildCommand(t, "README.md", cmd)
		}
	}
	t.Fatal("README.md: no go build command in a code block")
	return buildCommand{}
}

// TestDockerfileBuildMatchesTests: the image ships the binary the tests test.
func TestDockerfileBuildMatchesTests(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join("..", "Dockerfile"))
	docker := dockerfileBuild(t, stageNamed(t, stages, "build"))
	harness, readme := harnessBuild(t), readmeBuild(t)
	if !docker.equal(harness) {
		t.Errorf("Dockerfile builds with\n  %s\nthe integration tests with\n  %s\nmake them the same", docker, harness)
	}
	if !docker.equal(readme) {
		t.Errorf("Dockerfile builds with\n  %s\nREADME with\n  %s\nmake them the same", docker, readme)
	}
	// The jobsshd stage copies what the build wrote.
	c := stageNamed(t, stages, "jobsshd").copyTo(t, "/jobsshd")
	if c.Flags["from"] != "build" || !slices.Equal(c.Srcs, []string{docker.Out}) {
		t.Errorf("jobsshd stage copies %v from %q, want %s from build", c.Srcs, c.Flags["from"], docker.Out)
	}
}

// TestDockerfileGoVersion: the builder image is the Go release go.mod asks for, in full.
// With GOTOOLCHAIN=local (the golang images' setting) a floating golang:1.26 tag that a
// machine cached before 1.26.8 fails with "go.mod requires go >= 1.26.8".
func TestDockerfileGoVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go "); ok {
			want = strings.TrimSpace(v)
		}
	}
	if strings.Count(want, ".") != 2 {
		t.Fatalf("go.mod's go directive is %q, want a full release such as 1.26.8", want)
	}
	img := stageNamed(t, parseDockerfile(t, filepath.Join("..", "Dockerfile")), "build").Image
	if !dockerfileGoMatches(img, want) {
		t.Errorf("build stage FROM %s, want golang:%s-bookworm (go.mod's go directive, in full)", img, want)
	}
}

// dockerfileGoMatches reports whether image is golang:VERSION or golang:VERSION-VARIANT.
func dockerfileGoMatches(image, version string) bool {
	tag, ok := strings.CutPrefix(image, "golang:")
	return ok && (tag == version || strings.HasPrefix(tag, version+"-"))
}

func TestDockerfileGoMatches(t *testing.T) {
	for _, c := range []struct {
		image string
		want  bool
	}{
		{"golang:1.26.8-bookworm", true},
		{"golang:1.26.8", true},
		{"golang:1.26-bookworm", false}, // floating: a cached older 1.26.x fails
		{"golang:1.26.80-bookworm", false},
		{"golang:1.26.7-bookworm", false},
		{"debian:1.26.8", false},
	} {
		if got := dockerfileGoMatches(c.image, "1.26.8"); got != c.want {
			t.Errorf("dockerfileGoMatches(%q, 1.26.8) = %v, want %v", c.image, got, c.want)
		}
	}
}

// TestDockerfileAptCleanup: every RUN that installs packages removes apt's lists and
// cache in the same layer, without relying on the base image's docker-clean setting
// (debian:*-slim has it, a minbase root filesystem does not: 99 MB instead of 15 MB).
func TestDockerfileAptCleanup(t *testing.T) {
	for _, s := range parseDockerfile(t, filepath.Join("..", "Dockerfile")) {
		for _, in := range s.Instructions {
			if in.Op != "RUN" || !strings.Contains(in.Args, "apt-get install") {
				continue
			}
			for _, want := range []string{"apt-get clean", "rm -rf /var/lib/apt/lists/*"} {
				if !strings.Contains(in.Args, want) {
					t.Errorf("Dockerfile:%d (stage %s) installs packages without %q in the same RUN", in.Line, s.Name, want)
				}
			}
		}
	}
}

// Paths the README and the manifests rely on.
const (
	imageBinary     = "/usr/local/bin/jobsshd"
	imageEntrypoint = "/usr/local/bin/entrypoint.sh"
)

// TestDockerfileImages: the stages README names, with what platforms copy and run.
func TestDockerfileImages(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join("..", "Dockerfile"))
	if s := stageNamed(t, stages, "jobsshd"); s.Image != "scratch" || len(s.Instructions) != 1 {
		t.Errorf("jobsshd stage: FROM %s with %d instructions, want FROM scratch holding only /jobsshd", s.Image, len(s.Instructions))
	}
	if c := stageNamed(t, stages, "jobsshd").copyTo(t, "/jobsshd"); c.Flags["chmod"] != "0755" {
		t.Errorf("/jobsshd copied with --chmod=%q, want 0755", c.Flags["chmod"])
	}

	job := stageNamed(t, stages, "job-example")
	if !strings.HasPrefix(job.Image, "debian:") {
		t.Errorf("job-example FROM %s, want a Debian image", job.Image)
	}
	bin := job.copyTo(t, imageBinary)
	if bin.Flags["from"] != "jobsshd" || bin.Flags["chmod"] != "0755" {
		t.Errorf("job-example copies %s with --from=%q --chmod=%q, want --from=jobsshd --chmod=0755 (sessions run it as the served account)", imageBinary, bin.Flags["from"], bin.Flags["chmod"])
	}
	ep := job.copyTo(t, imageEntrypoint)
	if !slices.Equal(ep.Srcs, []string{"entrypoint.sh"}) || ep.Flags["chmod"] != "0755" {
		t.Errorf("job-example copies %v to %s with --chmod=%q, want entrypoint.sh with 0755", ep.Srcs, imageEntrypoint, ep.Flags["chmod"])
	}
	if got := instructionArgs(job, "ENTRYPOINT"); got != `["`+imageEntrypoint+`"]` {
		t.Errorf("job-example ENTRYPOINT %s, want [%q] (exec form: the script is PID 1)", got, imageEntrypoint)
	}
	if got := instructionArgs(job, "EXPOSE"); got != "2222" {
		t.Errorf("job-example EXPOSE %q, want 2222 (jobsshd's default port)", got)
	}
	runs := instructionArgs(job, "RUN")
	for _, want := range []string{
		"useradd -m -s /bin/bash work", "useradd -m -s /bin/bash ma-user",
		"openssh-client", // for ssh between the workers of a job
		"command -v scp >/dev/null || ln -s " + imageBinary + " /usr/local/bin/scp",
	} {
		if !strings.Contains(runs, want) {
			t.Errorf("job-example does not run %q", want)
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "entrypoint.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "#!/bin/sh\n") {
		t.Errorf("entrypoint.sh does not start with #!/bin/sh (it is POSIX sh; images may have no bash)")
	}
}

// instructionArgs joins the arguments of every op instruction in s.
func instructionArgs(s stage, op string) string {
	var all []string
	for _, in := range s.Instructions {
		if in.Op == op {
			all = append(all, in.Args)
		}
	}
	return strings.Join(all, "\n")
}
