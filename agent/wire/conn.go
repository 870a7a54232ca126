package wire

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrClosed is returned by calls on a Conn whose agent has gone away.
var ErrClosed = errors.New("agent connection closed")

// Conn is the runner's side of the protocol with one agent process.
type Conn struct {
	host string
	w    io.Writer
	wmu  sync.Mutex

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan message
	err     error
	done    chan struct{}
	events  func(Event)
}

// NewConn speaks the protocol over r and w for the agent of host. Events
// the agent sends are passed to onEvent (which must not block for long);
// onEvent may be nil.
func NewConn(host string, r io.Reader, w io.Writer, onEvent func(Event)) *Conn {
	c := &Conn{host: host, w: w, pending: map[uint64]chan message{}, done: make(chan struct{}), events: onEvent}
	go c.read(r)
	return c
}

// Host is the name of the host the agent runs in.
func (c *Conn) Host() string { return c.host }

// Done is closed when the agent's stream ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err tells why the stream ended, once Done is closed.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Conn) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	var err error
	for sc.Scan() {
		var m message
		if e := json.Unmarshal(sc.Bytes(), &m); e != nil {
			err = fmt.Errorf("agent %s sent a malformed line: %w", c.host, e)
			break
		}
		if m.ID == 0 {
			if m.Event != "" && c.events != nil {
				c.events(Event{Host: c.host, Name: m.Event, Data: m.Data})
			}
			continue
		}
		c.mu.Lock()
		ch := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	if err == nil {
		err = sc.Err()
	}
	if err == nil {
		err = ErrClosed
	} else {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	c.mu.Lock()
	c.err = err
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.done)
}

// Call sends op with args and decodes the answer into result (which may be
// nil). It returns when the answer arrives, the agent goes away, or ctx ends.
func (c *Conn) Call(ctx context.Context, op string, args, result any) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("encode %s args: %w", op, err)
	}
	ch := make(chan message, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("%s: %s: %w", c.host, op, err)
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()

	line, err := json.Marshal(message{ID: id, Op: op, Args: raw})
	if err != nil {
		return fmt.Errorf("encode %s: %w", op, err)
	}
	c.wmu.Lock()
	_, err = c.w.Write(append(line, '\n'))
	c.wmu.Unlock()
	if err != nil {
		c.forget(id)
		return fmt.Errorf("%s: send %s: %w", c.host, op, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: %s: %w", c.host, op, c.Err())
		}
		if m.Error != "" {
			return &RemoteError{Host: c.host, Op: op, Msg: m.Error}
		}
		if result != nil && len(m.Result) > 0 {
			if err := json.Unmarshal(m.Result, result); err != nil {
				return fmt.Errorf("%s: decode %s result: %w", c.host, op, err)
			}
		}
		return nil
	case <-ctx.Done():
		c.forget(id)
		return fmt.Errorf("%s: %s: %w", c.host, op, ctx.Err())
	}
}

func (c *Conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}
