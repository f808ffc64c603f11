package jobtrust

import (
	"slices"
	"strings"
	"testing"
)

func TestParseHosts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		list    string
		want    []string
		wantErr string
	}{
		{name: "volcano", list: "job-worker-0.job,job-worker-1.job", want: []string{"job-worker-0.job", "job-worker-1.job"}},
		{name: "spaces and empty entries", list: " a , ,b,", want: []string{"a", "b"}},
		{name: "addresses", list: "10.0.0.1,fd00::1,::ffff:10.0.0.2", want: []string{"10.0.0.1", "fd00::1", "::ffff:10.0.0.2"}},
		{name: "empty", list: "", want: nil},
		{name: "wildcard", list: "a,*", wantErr: `'*' is not allowed`},
		{name: "negation", list: "!a", wantErr: `'!' is not allowed`},
		{name: "space inside", list: "a b", wantErr: `' ' is not allowed`},
		{name: "port form", list: "[a]:22", wantErr: `'[' is not allowed`},
		{name: "leading dash", list: "-oProxyCommand", wantErr: "starts with a letter or digit"},
		{name: "zone", list: "fe80::1%eth0", wantErr: "zone"},
		{name: "too long", list: strings.Repeat("a", 254), wantErr: "longer than 253"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseHosts(tt.list)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, error %v, want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestHostsFromEnv(t *testing.T) {
	t.Parallel()
	env := []string{
		"VC_WORKER_HOSTS=w-0,w-1",
		"PATH=/bin",
		"VC_PS_HOSTS=ps-0,w-1",
		"VC_WORKER_NUM=2",
		"VC__HOSTS=nameless",
		"MY_HOSTS=other",
		"VC_BAD_HOSTS=x,*",
	}
	got, err := HostsFromEnv(env)
	if want := []string{"ps-0", "w-1", "w-0"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "VC_BAD_HOSTS") {
		t.Errorf("got error %v, want one naming VC_BAD_HOSTS", err)
	}
	if got, err := HostsFromEnv([]string{"HOME=/root"}); got != nil || err != nil {
		t.Errorf("no VC_*_HOSTS: got %q, %v, want nothing", got, err)
	}
}
