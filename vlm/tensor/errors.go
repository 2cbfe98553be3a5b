package tensor

import (
	"errors"
	"fmt"
)

// Error is the panic value of an operation given bad input. Catch and Recover
// turn it into an ordinary error at an API boundary.
type Error struct {
	Op  string // the operation, e.g. "matmul"
	Msg string // what is wrong, with the shapes involved
}

// Error implements the error interface.
func (e *Error) Error() string { return "tensor: " + e.Op + ": " + e.Msg }

// failf panics with an *Error for op.
func failf(op, format string, args ...any) {
	panic(&Error{Op: op, Msg: fmt.Sprintf(format, args...)})
}

// Catch runs fn and returns the *Error it panicked with, or fn's own error.
// Panics with any other value propagate.
func Catch(fn func() error) (err error) {
	defer Recover(&err)
	return fn()
}

// Recover, deferred, converts a panic carrying an *Error into *errp.
// Panics with any other value propagate.
func Recover(errp *error) {
	r := recover()
	if r == nil {
		return
	}
	var te *Error
	if e, ok := r.(error); ok && errors.As(e, &te) {
		*errp = te
		return
	}
	panic(r)
}
