package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// prompter asks for values on a terminal. It is on only when stdin is a
// terminal (App.Interactive) and --yes is not given; tests turn it on with
// a strings.Reader as the terminal.
type prompter struct {
	ctx context.Context
	on  bool
	in  *bufio.Reader
	w   io.Writer
}

func (a *App) prompter(ctx context.Context, yes bool) *prompter {
	return &prompter{ctx: ctx, on: a.Interactive && !yes, in: bufio.NewReader(a.Stdin), w: a.Stderr}
}

type line struct {
	s   string
	err error
}

// readLine reads one line, or gives up when the context ends (Ctrl-C at a
// prompt: main's signal context is cancelled while the read blocks).
func (p *prompter) readLine() (string, error) {
	c := make(chan line, 1)
	go func() {
		s, err := p.in.ReadString('\n')
		c <- line{s, err}
	}()
	select {
	case l := <-c:
		return l.s, l.err
	case <-p.ctx.Done():
		return "", p.ctx.Err()
	}
}

// maxAttempts bounds how often one question is asked again after an invalid answer.
const maxAttempts = 3

// ask prints "label [def]: ", reads one line, takes def for an empty line,
// and asks again (up to maxAttempts times) while check rejects the answer.
func (p *prompter) ask(label, def string, check func(string) error) (string, error) {
	for range maxAttempts {
		if def != "" {
			fmt.Fprintf(p.w, "%s [%s]: ", label, def)
		} else {
			fmt.Fprintf(p.w, "%s: ", label)
		}
		text, err := p.readLine()
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintln(p.w)
			return "", fmt.Errorf("interrupted")
		}
		if err != nil && !(errors.Is(err, io.EOF) && text != "") {
			fmt.Fprintln(p.w)
			return "", usagef("no answer for %q: input ended", label)
		}
		answer := strings.TrimSpace(text)
		if answer == "" {
			answer = def
		}
		if check != nil {
			if err := check(answer); err != nil {
				fmt.Fprintf(p.w, "  %s\n", message(err))
				continue
			}
		}
		return answer, nil
	}
	return "", usagef("no valid answer for %q after %d attempts", label, maxAttempts)
}
