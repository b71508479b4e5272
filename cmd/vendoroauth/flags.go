package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// A flagSet is a command's flags with its help text. Its errors never echo
// what the user typed: a flag value or a stray argument may be a secret
// typed in the wrong place, so they name the flag instead.
type flagSet struct {
	*flag.FlagSet
	synopsis string // after "vendoroauth <name> "
	about    string // what the command does, a paragraph
	example  string // indented lines
}

// newFlagSet returns an empty flagSet for the command name.
func newFlagSet(name, synopsis, about, example string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the flag package's messages echo values
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, synopsis: synopsis, about: about, example: example}
}

// printHelp writes the command's help to w, with a flags section only if
// the command has flags.
func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n", strings.TrimSpace("vendoroauth "+fs.Name()+" "+fs.synopsis))
	if fs.about != "" {
		fmt.Fprintf(w, "\n%s\n", fs.about)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nflags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if fs.example != "" {
		fmt.Fprintf(w, "\nexample:\n%s\n", fs.example)
	}
}

// parse parses args. It prints help to stdout and returns errHelp for -h;
// it refuses positional arguments, so that a flag in the wrong place is an
// error rather than ignored.
func (fs *flagSet) parse(args []string, stdout io.Writer) error {
	// Wrap each value for the parse only, to learn which flag refused its
	// value; PrintDefaults wants the original types back.
	var failed string
	var orig []flag.Value
	fs.VisitAll(func(f *flag.Flag) {
		orig = append(orig, f.Value)
		f.Value = &watchedValue{Value: f.Value, name: f.Name, failed: &failed}
	})
	err := fs.Parse(args)
	i := 0
	fs.VisitAll(func(f *flag.Flag) { f.Value = orig[i]; i++ })

	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.printHelp(stdout)
		return errHelp
	case err != nil:
		return usagef("%s: %s", fs.Name(), fs.explain(err, failed))
	case fs.NArg() > 0:
		return usagef("%s: unexpected argument (flags go before arguments; secrets come from the environment or standard input, never from the command line)", fs.Name())
	}
	return nil
}

// explain turns a flag package error into a message that names at most a
// flag, never a value: a defined flag, or an unknown flag whose name looks
// like one (see flagName).
func (fs *flagSet) explain(err error, failed string) string {
	if f := fs.Lookup(failed); f != nil {
		return fmt.Sprintf("invalid value for -%s (want %s; run: vendoroauth %s -h)", f.Name, want(f), fs.Name())
	}
	if name, ok := strings.CutPrefix(err.Error(), "flag needs an argument: -"); ok && fs.Lookup(name) != nil {
		return fmt.Sprintf("-%s needs a value", name)
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "-"+f.Name) })
	known := "it has no flags"
	if len(names) > 0 {
		known = "its flags are " + strings.Join(names, " ")
	}
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		if flagName(name) {
			return fmt.Sprintf("unknown flag -%s (%s; run: vendoroauth %s -h)", name, known, fs.Name())
		}
		return fmt.Sprintf("unknown flag (%s; run: vendoroauth %s -h)", known, fs.Name())
	}
	return fmt.Sprintf("malformed flag (%s; run: vendoroauth %s -h)", known, fs.Name())
}

// flagName reports whether name, an unknown flag's name as the flag package
// reports it (the part before any "=", so never the value), looks like a
// flag name: at most 32 lower-case letters and inner hyphens, starting with
// a letter, as every flag of this command is. Anything else, such as a
// secret pasted after a dash (secrets hold digits, capitals or symbols), is
// not repeated.
func flagName(name string) bool {
	if name == "" || len(name) > 32 || name[0] == '-' || strings.HasSuffix(name, "-") {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}

// want describes what a flag takes.
func want(f *flag.Flag) string {
	g, _ := f.Value.(flag.Getter)
	if g == nil {
		return "a valid value"
	}
	switch g.Get().(type) {
	case bool:
		return "true or false, or the flag alone"
	case time.Duration:
		return "a duration such as 30s or 1h"
	case int, int64, uint, uint64:
		return "a number"
	}
	return "a valid value"
}

// A watchedValue is a flag.Value that records the name of its flag when
// Set fails.
type watchedValue struct {
	flag.Value
	name   string
	failed *string
}

func (v *watchedValue) Set(s string) error {
	err := v.Value.Set(s)
	if err != nil && *v.failed == "" {
		*v.failed = v.name
	}
	return err
}

// IsBoolFlag keeps a bool flag usable without a value.
func (v *watchedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
