// Command rivulet is a server that speaks the Amazon Kinesis Data Streams
// API, and its companion tools. Each subcommand lives in its own file and
// registers itself in the command table from an init function.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // something went wrong at run time
	exitUsage   = 2 // bad command line, environment or config file
)

// command is one subcommand.
type command struct {
	name    string
	summary string // one line for `rivulet help`
	run     func(ctx context.Context, e *env, args []string) int
}

var commands = map[string]command{}

// register adds a subcommand; call it from the subcommand file's init.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("rivulet: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// env is the process's surroundings, replaceable in tests.
type env struct {
	stdin     io.Reader // nil means os.Stdin
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
	started   time.Time // process start, for start-up timing
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv, started: time.Now()}
	os.Exit(run(context.Background(), e, os.Args[1:]))
}

// run dispatches args (without the program name) and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(e.stderr, "rivulet: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}

func init() {
	register(command{name: "help", summary: "list commands, or show one command's usage (help COMMAND)", run: runHelp})
}

func runHelp(ctx context.Context, e *env, args []string) int {
	switch len(args) {
	case 0:
		usage(e.stdout)
		return exitOK
	case 1:
		if c, ok := commands[args[0]]; ok && c.name != "help" {
			return c.run(ctx, e, []string{"--help"})
		}
		fmt.Fprintf(e.stderr, "rivulet help: unknown command %q\n", args[0])
		return exitUsage
	}
	fmt.Fprintln(e.stderr, "usage: rivulet help [COMMAND]")
	return exitUsage
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Rivulet serves the Amazon Kinesis Data Streams API.\n\nUsage: rivulet COMMAND [flags]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun 'rivulet help COMMAND' or 'rivulet COMMAND --help' for a command's flags.\n")
	io.WriteString(w, b.String())
}
