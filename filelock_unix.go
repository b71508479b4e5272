//go:build unix

package vendoroauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockPoll is how often Lock tries again while another holder has the lock.
const lockPoll = 20 * time.Millisecond

// Lock implements [Locker] with flock(2) on path+".lock": an advisory lock
// that the kernel releases when its holder exits, so a crashed holder
// cannot block the others.
func (f *TokenFile) Lock(ctx context.Context) (func(), error) {
	lf, err := os.OpenFile(f.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vendoroauth: token file lock: %w", err)
	}
	for {
		err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
				lf.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			lf.Close()
			return nil, fmt.Errorf("vendoroauth: token file lock: %w", err)
		}
		if err := sleep(ctx, lockPoll); err != nil {
			lf.Close()
			return nil, fmt.Errorf("vendoroauth: token file lock: %w", err)
		}
	}
}
