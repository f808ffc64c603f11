package doctor

import (
	"strings"
	"testing"
)

func TestReportWrite(t *testing.T) {
	tests := []struct {
		name     string
		findings []Finding
		want     string
		blocking bool
	}{
		{
			name:     "all fine",
			findings: []Finding{{Severity: OK, What: "a"}, {Severity: Info, What: "b", Fix: "not printed"}},
			want:     "OK    a\nINFO  b\nno problem found: logins should work\n",
		},
		{
			name:     "a warning",
			findings: []Finding{{Severity: Warn, What: "w", Fix: "do x"}},
			want:     "WARN  w\n      fix: do x\n1 warning, no failure: logins should work\n",
		},
		{
			name: "failures block",
			findings: []Finding{{Severity: Fail, What: "f1", Fix: "fix 1"}, {Severity: Fail, What: "f2", Fix: "fix 2"},
				{Severity: Warn, What: "w", Fix: "do x"}},
			want: "FAIL  f1\n      fix: fix 1\nFAIL  f2\n      fix: fix 2\nWARN  w\n      fix: do x\n" +
				"2 failures, 1 warning: logins would fail until the FAIL findings are fixed\n",
			blocking: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Findings: tt.findings}
			var b strings.Builder
			if err := r.Write(&b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
			if r.Blocking() != tt.blocking {
				t.Errorf("Blocking: got %v, want %v", r.Blocking(), tt.blocking)
			}
		})
	}
}
