package deploy

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// webContainer is what TestWebIngress reads of the job container beyond container.
type webContainer struct {
	ReadinessProbe struct {
		HTTPGet struct {
			Path string          `json:"path"`
			Port json.RawMessage `json:"port"`
		} `json:"httpGet"`
	} `json:"readinessProbe"`
}

type ingressSpec struct {
	Rules []struct {
		HTTP struct {
			Paths []struct {
				Path    string `json:"path"`
				Backend struct {
					Service struct {
						Name string `json:"name"`
						Port struct {
							Name   string `json:"name"`
							Number int    `json:"number"`
						} `json:"port"`
					} `json:"service"`
				} `json:"backend"`
			} `json:"paths"`
		} `json:"http"`
	} `json:"rules"`
}

// TestWebIngress: web-ingress.yaml's pod serves --web on its "web" port with the token
// from the Secret beside it, is ready by /healthz, and its Service and Ingress lead to
// that port.
func TestWebIngress(t *testing.T) {
	const file = "web-ingress.yaml"
	objs := loadManifest(t, file)
	pod := objectOfKind(t, file, objs, "v1", "Pod")
	var ps podSpec
	decodeSpec(t, file, pod, &ps)
	if len(ps.Containers) != 1 {
		t.Fatalf("%s: pod has %d containers, want 1", file, len(ps.Containers))
	}
	c := ps.Containers[0]
	checkJobContainer(t, file, c)
	web := c.literal(t, file, "JOBSSHD_WEB")
	if p := c.containerPort("web"); p == 0 || !strings.HasSuffix(web, ":"+strconv.Itoa(p)) {
		t.Errorf("%s: JOBSSHD_WEB=%q, containerPort web %d: make the port the same", file, web, p)
	}
	e, ok := c.env("JOBSSHD_WEB_TOKEN")
	if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Fatalf("%s: JOBSSHD_WEB_TOKEN must come from a secretKeyRef", file)
	}
	secret := objectOfKind(t, file, objs, "v1", "Secret")
	if secret.Metadata.Name != e.ValueFrom.SecretKeyRef.Name {
		t.Errorf("%s: JOBSSHD_WEB_TOKEN names Secret %q, the file's is %q", file, e.ValueFrom.SecretKeyRef.Name, secret.Metadata.Name)
	}
	var probes struct {
		Containers []webContainer `json:"containers"`
	}
	decodeSpec(t, file, pod, &probes)
	probe := probes.Containers[0].ReadinessProbe.HTTPGet
	if probe.Path != "/healthz" || string(probe.Port) != `"web"` {
		t.Errorf("%s: readiness probe GET %s on port %s, want /healthz on port web (the only path without the token)", file, probe.Path, probe.Port)
	}

	svc := objectOfKind(t, file, objs, "v1", "Service")
	var ss serviceSpec
	decodeSpec(t, file, svc, &ss)
	if len(ss.Ports) != 1 || strings.Trim(string(ss.Ports[0].TargetPort), `"`) != "web" {
		t.Fatalf("%s: the Service must have one port targeting web, got %+v", file, ss.Ports)
	}
	ing := objectOfKind(t, file, objs, "networking.k8s.io/v1", "Ingress")
	var is ingressSpec
	decodeSpec(t, file, ing, &is)
	if len(is.Rules) != 1 || len(is.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("%s: want one Ingress rule with one path", file)
	}
	b := is.Rules[0].HTTP.Paths[0].Backend.Service
	if b.Name != svc.Metadata.Name || (b.Port.Name != ss.Ports[0].Name && b.Port.Number != ss.Ports[0].Port) {
		t.Errorf("%s: the Ingress leads to %s port %+v, the Service is %s port %s/%d", file, b.Name, b.Port, svc.Metadata.Name, ss.Ports[0].Name, ss.Ports[0].Port)
	}
	checkVariables(t, file, objs)
}
