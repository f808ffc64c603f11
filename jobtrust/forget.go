package jobtrust

import (
	"net/netip"
	"time"
)

// ForgetAddresses drops the addresses resolved for the hostname entries of Hosts (and
// the reverse lookups' times), so that the next login from a job host looks them up
// afresh: after a reload (SIGHUP), a pod that moved is found at once rather than after
// addrTTL.
func (t *Trust) ForgetAddresses() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.resolved = map[string]resolution{}
	t.reversed = map[netip.Addr]time.Time{}
}
