package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// manifestImage is the image every manifest runs: a name in a registry, since
// Kubernetes pulls an image tagged :latest at every start and a local build is never
// found there.
const manifestImage = "registry.example.com/jobsshd-job-example:latest"

var imageLine = regexp.MustCompile(`(?m)^\s*image:\s*(\S+)\s*$`)

// TestManifestsBuildAndPush: every manifest runs the same image and says, in the same
// words, how to build it with the Dockerfile's job-example target and push it there.
func TestManifestsBuildAndPush(t *testing.T) {
	paths, err := filepath.Glob("*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in deploy/: %v", err)
	}
	var instructions []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		images := imageLine.FindAllStringSubmatch(string(b), -1)
		if len(images) == 0 {
			t.Errorf("%s: no image: line", p)
		}
		for _, m := range images {
			if m[1] != manifestImage {
				t.Errorf("%s: image: %s, want %s (as every manifest and its build instructions)", p, m[1], manifestImage)
			}
		}
		got := buildInstructions(string(b))
		for _, want := range []string{
			"#   docker build --target job-example -t " + manifestImage + " .",
			"#   docker push " + manifestImage,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: the instructions before the first object do not say\n  %s", p, want)
			}
		}
		instructions = append(instructions, got)
	}
	for i := 1; i < len(instructions); i++ {
		if instructions[i] != instructions[0] {
			t.Errorf("%s and %s say differently how to build and push the image:\n%s\n---\n%s", paths[0], paths[i], instructions[0], instructions[i])
		}
	}
}

// buildInstructions returns the comment paragraph of a manifest's header that starts
// with "# Build the image".
func buildInstructions(manifest string) string {
	var out []string
	for _, line := range strings.Split(manifest, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		if strings.HasPrefix(line, "# Build the image") || len(out) > 0 {
			if strings.TrimSpace(line) == "#" {
				break
			}
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
