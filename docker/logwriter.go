package docker

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// lineWriter writes each complete line to w as "[host] line".
type lineWriter struct {
	mu   sync.Mutex
	w    io.Writer
	host string
	buf  []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(l.w, "[%s] %s\n", l.host, l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// tcLogger hands testcontainers-go's messages to a writer.
type tcLogger struct{ w io.Writer }

func (t tcLogger) Printf(format string, v ...any) { fmt.Fprintf(t.w, format+"\n", v...) }
