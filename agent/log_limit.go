package agent

import "jobsshd/internal/loglimit"

// logBurst is how many lines of one kind a second the agent writes; the others are
// counted (loglimit, which the web server shares).
const logBurst = loglimit.Burst

// logLimiter rate-limits one kind of log line, shared by every connection.
type logLimiter = loglimit.Limiter
