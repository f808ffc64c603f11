package keys

import (
	"log/slog"
	"strings"
	"testing"
)

// TestAuthorizedKeysFileLogsBadOption pins what an operator sees for a line whose
// options do not parse: the line is skipped, the other keys still work, and the warning
// gives the file, the line number and the option, but not the option's value.
func TestAuthorizedKeysFileLogsBadOption(t *testing.T) {
	t.Parallel()
	fx := newAuthorizedKeysFixture(t)
	fx.settle()
	fx.write(aliceKey + " alice\n" + `permitopen="secret-db:abc" ` + carolKey + " carol\n" + "restrict " + bobKey + " bob\n")
	keys := fx.keys(2, nil)
	if keys[0].Comment != "alice" || keys[1].Comment != "bob" || !keys[1].Opts.NoPTY {
		t.Errorf("got keys %q (bob NoPTY %v), want alice and a restricted bob", []string{keys[0].Comment, keys[1].Comment}, keys[1].Opts.NoPTY)
	}

	fx.log.mu.Lock()
	defer fx.log.mu.Unlock()
	var found int
	for _, r := range fx.log.records {
		if r.Level != slog.LevelWarn || r.Message != "authorized_keys line ignored" {
			continue
		}
		found++
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
		if attrs["line"] != "2" || attrs["source"] != fx.path || !strings.Contains(attrs["err"], `option "permitopen"`) {
			t.Errorf("got warning %v, want line 2 of %s naming option permitopen", attrs, fx.path)
		}
		if strings.Contains(attrs["err"], "secret-db") {
			t.Errorf("warning %v quotes the option's value", attrs)
		}
	}
	if found != 1 {
		t.Errorf("got %d warnings, want 1", found)
	}
}
