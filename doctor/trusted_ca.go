package doctor

import (
	"errors"
	"fmt"
	"io/fs"

	"jobsshd/keys"
)

// checkTrustedUserCAs checks each --trusted-user-ca file with the agent's own loader
// (keys.LoadTrustedCAs), which refuses to start on any problem in any of them,
// and returns the number of CA keys, each of which is a way in for certificates.
func checkTrustedUserCAs(r *Report, paths []string) int {
	total := 0
	for _, p := range paths {
		cas, err := keys.LoadTrustedCAs([]string{p})
		if err != nil {
			fix := fmt.Sprintf("put one CA public key per line in %s, as in the CA's .pub file (ssh-keygen -y -f CA_KEY prints it), without options, or drop --trusted-user-ca %s", p, p)
			if errors.Is(err, fs.ErrNotExist) {
				fix = fmt.Sprintf("create %s with the CA public keys (or check the mount that should provide it), or drop --trusted-user-ca %s", p, p)
			}
			r.fail(fix, "%v: jobsshd will not start (exit 2)", err)
			continue
		}
		r.ok("trusted user CA file %s: %s", p, plural(len(cas), "CA key"))
		total += len(cas)
	}
	if total > 0 {
		r.info("certificates signed by %s can log in when they name the account as a principal", plural(total, "CA key"))
	}
	return total
}
