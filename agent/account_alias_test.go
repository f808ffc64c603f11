package agent

import "jobsshd/internal/account"

// Account is the served account (package account) under the short name the agent's
// tests build their fixtures with.
type Account = account.Account
