package keys

import (
	"errors"
	"strings"
	"time"
)

// parseExpiryTime parses an expiry-time= value as sshd's parse_absolute_time does:
// YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, in loc, or in UTC when followed by "Z" or
// "UTC" (either case; OpenSSH 8.2 and later). Unlike mktime, an impossible date such as
// February 30 is refused rather than rolled over into March, and so is a time not after
// the start of 1970 (sshd refuses that too).
func parseExpiryTime(s string, loc *time.Location) (time.Time, error) {
	digits := s
	switch {
	case len(s) > 1 && strings.EqualFold(s[len(s)-1:], "Z"):
		digits, loc = s[:len(s)-1], time.UTC
	case len(s) > 3 && strings.EqualFold(s[len(s)-3:], "UTC"):
		digits, loc = s[:len(s)-3], time.UTC
	}
	const want = "want YYYYMMDD[HHMM[SS]], local time, or with a trailing Z for UTC"
	var layout string
	switch len(digits) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	}
	if layout == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return time.Time{}, errors.New("malformed time: " + want)
	}
	t, err := time.ParseInLocation(layout, digits, loc)
	if err != nil {
		return time.Time{}, errors.New("no such date or time: " + want)
	}
	if t.Unix() <= 0 {
		return time.Time{}, errors.New("time is not after 1970-01-01")
	}
	return t, nil
}

// Expired reports whether the key's expiry-time has passed at now. As in sshd, whole
// seconds are compared and the key still works during its expiry second.
func (o KeyOptions) Expired(now time.Time) bool {
	return !o.ExpiryTime.IsZero() && now.Unix() > o.ExpiryTime.Unix()
}
