package redisstore

import "context"

// await runs fn, which sends Redis commands with the ctx it is given, on
// a goroutine of its own, and returns fn's result, or ctx's error as soon as
// ctx is done, whichever comes first.
//
// A Store cannot leave this to go-redis. go-redis v9 honours ctx while it
// waits for a pooled connection and between retries, but on the socket it
// uses ctx only if Options.ContextTimeoutEnabled is set (otherwise
// baseClient.context in its redis.go hands the read context.Background),
// so a command to a Redis that stopped answering (paused, partitioned)
// waits for the client's ReadTimeout, 5 s by default, or longer. A Store
// must return soon after ctx is done whatever the caller's options.
//
// So await stops waiting and leaves the command behind. The goroutine
// ends by itself: at once with ContextTimeoutEnabled, otherwise when the
// read times out, since go-redis retries nothing once ctx is done. (With a
// ReadTimeout of -1 or -2 it lasts as long as the connection.) If the
// caller left first and abandoned is not nil, abandoned gets fn's late
// result on that goroutine, to undo what the command did.
func await[T any](ctx context.Context, fn func(context.Context) (T, error), abandoned func(T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	// Unbuffered: the goroutine hands the result over only while the
	// caller still waits, so exactly one of them owns it.
	done := make(chan result)
	go func() {
		v, err := fn(ctx)
		select {
		case done <- result{v, err}:
		case <-ctx.Done():
			if abandoned != nil {
				abandoned(v, err)
			}
		}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}
