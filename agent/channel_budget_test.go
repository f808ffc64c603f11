package agent

import "testing"

func TestChannelBudget(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		held  []int // per acquire: the channels the asking connection holds
		want  []bool
	}{
		{"a busy connection stops at the reserve", 16, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []bool{true, true, true, true, true, true, true, true, true, true, true, true, true, true, false}},
		{"new logins take the reserve, then nothing", 8, []int{5, 5, 5, 5, 5, 5, 5, 0, 0}, []bool{true, true, true, true, true, true, true, true, false}},
		{"a limit of one is all reserve", 1, []int{1, 0, 0}, []bool{false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newChannelBudget(tt.limit)
			for i, held := range tt.held {
				if got := b.acquire(held); got != tt.want[i] {
					t.Fatalf("acquire %d (held %d, used %d of %d): got %v, want %v", i, held, b.used, tt.limit, got, tt.want[i])
				}
			}
			used := b.used
			b.release()
			if !b.acquire(0) || b.used != used {
				t.Errorf("after a release, a new login: got no channel or used %d, want used %d", b.used, used)
			}
		})
	}
}
