package keys

import (
	"errors"
	"strings"
	"testing"
)

// daveDSAKey is a DSA public key (ssh-keygen -t dsa, OpenSSH 9.2), written out because
// x/crypto ≥ v0.59.0 can neither make nor parse one.
const daveDSAKey = "ssh-dss AAAAB3NzaC1kc3MAAACBAMnHv5IgTggD/6KWqUbiW3d9pgVhliBboqCPETY2qmFOpSaN4F+fBKGwY6TxDXePWJK36ddQdW3TIPcEiJfGasmgJP/+XQeZCdeyx+1g4EyRK6ElNsFy2YLYKPCFFFrf7c796Y/sZ9T1VDApC80kPioY+1R31p6n6lFioZOgwqvbAAAAFQCMXMpCYzzNj+wlzi5j+DyXdOYMHQAAAIAMeFFMgmQfsbVyTt1fReT93vPkr38OtQYUwvMH6WKU/FwBONMWiyxmUSYPBIevTxfBDnD/mTJ5I5/LxNPFEbjeytlk/AB3d7vmUgrCSKimV3bFMx+MTEFj6P/ivtSnzCP9LanrPgIiEj49PnJy/IFI0an3Q6octp+oPz9LokIBDQAAAIEAn2hfVU3sAuXHfpoYYYStshAMagYzvH3qkcE+a/me8EfRAUlzRTYrSv8ognJR2SZTskYe0bH9XpqaabCSollEcsljfYZTBMuEBoITQMxr+jOh0MGk9BuDFnzM9wuw6f5CNJmsNXdzOV09fjhwbjYKmGA7K4/K5uznwZo+eTKVFPE= dave@old"

// TestDSALineSaysDSA: since golang.org/x/crypto v0.59.0 an ssh-dss line no longer
// parses; it is rejected as a DSA key, with the fix, and a broken line that only
// mentions ssh-dss keeps the generic reason.
func TestDSALineSaysDSA(t *testing.T) {
	t.Parallel()
	blob := strings.Fields(daveDSAKey)[1]
	tests := []struct {
		name, line string
		want       error
	}{
		{name: "a DSA key", line: daveDSAKey, want: errDSAKey},
		{name: "with options", line: `from="10.0.0.0/8",no-pty ` + daveDSAKey, want: errDSAKey},
		{name: "certificate type named", line: "ssh-dss-cert-v01@openssh.com " + blob, want: errDSAKey},
		{name: "DSA blob under another type", line: "ssh-ed25519 " + blob, want: errNotAKey},
		{name: "ssh-dss in a broken line's comment", line: "ssh-ed25519 AAAAnotbase64 old ssh-dss key", want: errNotAKey},
		{name: "ssh-dss with a broken blob", line: "ssh-dss AAAAB3NzaC1yc2E=", want: errNotAKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, errs := ParseAuthorizedKeys(strings.NewReader(aliceKey+"\n"+tt.line+"\n"), "ak")
			if len(keys) != 1 || len(errs) != 1 || errs[0].Line != 2 {
				t.Fatalf("got keys %v and errors %v, want alice's key and an error on line 2", keys, errs)
			}
			if !errors.Is(errs[0], tt.want) {
				t.Errorf("got %v, want %v", errs[0], tt.want)
			}
		})
	}
}
