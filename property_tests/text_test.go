package propertytests

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/nitrowallet/nitrowallet/sim"
)

// A case file holds a configuration and a command sequence, one item a
// line; '#' starts a comment:
//
//	wallets 3
//	confirmations 3        (optional)
//	reorgdepth 2           (optional)
//	dropreorged            (optional)
//	open 6                 (optional: start with every channel open, 6 updates made)
//	channel 0,2 eth 5,3 token 1,0
//	channel 1,2 eth 4,4 app  (app: SingleAssetPayments, sim.AppAddress)
//	expect fail            (optional: the checks must find a violation)
//	create 0
//	deliver 3
//	...

type caseFile struct {
	cfg        sim.Config
	cmds       []cmd
	expectFail bool
}

func formatCase(f failure, comments ...string) string {
	var sb strings.Builder
	for _, c := range comments {
		for _, l := range strings.Split(c, "\n") {
			fmt.Fprintf(&sb, "# %s\n", l)
		}
	}
	cfg := f.cfg
	fmt.Fprintf(&sb, "wallets %d\n", cfg.Wallets)
	if cfg.Confirmations != 0 {
		fmt.Fprintf(&sb, "confirmations %d\n", cfg.Confirmations)
	}
	if cfg.ReorgDepth != 0 {
		fmt.Fprintf(&sb, "reorgdepth %d\n", cfg.ReorgDepth)
	}
	if cfg.DropReorged {
		sb.WriteString("dropreorged\n")
	}
	if cfg.Open {
		fmt.Fprintf(&sb, "open %d\n", cfg.Warmup)
	}
	for _, ch := range cfg.Channels {
		fmt.Fprintf(&sb, "channel %s eth %s", ints(ch.Participants), ints64(ch.ETH))
		if ch.Token != nil {
			fmt.Fprintf(&sb, " token %s", ints64(ch.Token))
		}
		if ch.App {
			sb.WriteString(" app")
		}
		sb.WriteByte('\n')
	}
	for _, c := range f.cmds {
		sb.WriteString(c.String())
		sb.WriteByte('\n')
	}
	return sb.String()
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func ints64(xs []int64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func parseCase(text string) (caseFile, error) {
	var c caseFile
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		bad := func(err error) (caseFile, error) { return c, fmt.Errorf("line %d: %w", n, err) }
		var err error
		switch f[0] {
		case "wallets", "confirmations", "reorgdepth", "open":
			if len(f) != 2 {
				return bad(fmt.Errorf("%s takes one number", f[0]))
			}
			var x int
			if x, err = strconv.Atoi(f[1]); err != nil {
				return bad(err)
			}
			switch f[0] {
			case "wallets":
				c.cfg.Wallets = x
			case "confirmations":
				c.cfg.Confirmations = uint64(x)
			case "open":
				c.cfg.Open, c.cfg.Warmup = true, x
			default:
				c.cfg.ReorgDepth = x
			}
		case "dropreorged":
			c.cfg.DropReorged = true
		case "expect":
			if len(f) != 2 || (f[1] != "fail" && f[1] != "pass") {
				return bad(fmt.Errorf("expect pass or fail"))
			}
			c.expectFail = f[1] == "fail"
		case "channel":
			var spec sim.ChannelSpec
			if f[len(f)-1] == "app" {
				spec.App, f = true, f[:len(f)-1]
			}
			if len(f) != 4 && len(f) != 6 || f[2] != "eth" || (len(f) == 6 && f[4] != "token") {
				return bad(fmt.Errorf("channel P,P eth N,N [token N,N] [app]"))
			}
			ps, err := parseInts(f[1])
			if err != nil {
				return bad(err)
			}
			for _, p := range ps {
				spec.Participants = append(spec.Participants, int(p))
			}
			if spec.ETH, err = parseInts(f[3]); err != nil {
				return bad(err)
			}
			if len(f) == 6 {
				if spec.Token, err = parseInts(f[5]); err != nil {
					return bad(err)
				}
			}
			c.cfg.Channels = append(c.cfg.Channels, spec)
		default:
			x, err := parseCmd(line)
			if err != nil {
				return bad(err)
			}
			c.cmds = append(c.cmds, x)
		}
	}
	return c, c.cfg.Validate()
}
