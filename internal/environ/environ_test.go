package environ

import (
	"slices"
	"testing"
)

func TestMerge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		base, over []string
		want       []string
	}{
		{
			name: "over replaces base in place",
			base: []string{"A=1", "VC_WORKER_HOSTS=a,b", "B=2"},
			over: []string{"B=3", "A=4"},
			want: []string{"A=4", "VC_WORKER_HOSTS=a,b", "B=3"},
		},
		{
			name: "agent settings and per-process variables dropped",
			base: []string{"JOBSSHD_PORT=22", "HOME=/root", "PWD=/x", "SSH_AUTH_SOCK=/s", "CUDA_VISIBLE_DEVICES=0"},
			over: []string{"USER=root", "SHLVL=2", "_=/usr/bin/env"},
			want: []string{"CUDA_VISIBLE_DEVICES=0"},
		},
		{
			name: "malformed entries skipped",
			base: []string{"NOEQUALS", "=novalue", "EMPTY="},
			want: []string{"EMPTY="},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Merge(tt.base, tt.over); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
