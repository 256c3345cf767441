package main

// The bench table's printing and number formats.

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// benchPrintTable prints the rows as a Markdown table, padded so that it
// also reads well in a terminal.
func benchPrintTable(out io.Writer, rows []benchRow) {
	head := []string{"benchmark", "value", "unit", "p50", "p99", "p99.9", "allocs/op", "CPU/op", "of ceiling", "ceiling (same run)", "CPU of ceiling", "spread"}
	cells := [][]string{head}
	for _, r := range rows {
		c := []string{r.name, benchFmtNum(r.value), r.unit, benchFmtDur(r.p50), benchFmtDur(r.p99), benchFmtDur(r.p999), "", "", "", "", "", ""}
		if r.note != "" {
			c[0] += " (" + r.note + ")"
		}
		if r.allocs >= 0 && r.p50 > 0 {
			c[6] = benchFmtNum(r.allocs)
		}
		if r.cpuOp > 0 {
			c[7] = benchFmtDur(r.cpuOp)
		}
		if r.ratio > 0 {
			c[8] = fmt.Sprintf("%.0f%%", 100*r.ratio)
			c[9] = benchFmtNum(r.ceiling) + " " + r.unit
		}
		if r.cpuRate > 0 {
			c[10] = fmt.Sprintf("%.0f%%", 100*r.cpuRate)
		}
		if r.spread > 0 {
			c[11] = fmt.Sprintf("±%.0f%%", 50*r.spread)
		}
		cells = append(cells, c)
	}
	width := make([]int, len(head))
	for _, c := range cells {
		for i, s := range c {
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	line := func(c []string) {
		var b strings.Builder
		for i, s := range c {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(s))
			if i == 0 || i == 2 {
				b.WriteString("| " + s + pad + " ")
			} else {
				b.WriteString("| " + pad + s + " ")
			}
		}
		fmt.Fprintln(out, b.String()+"|")
	}
	line(cells[0])
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i]+2)
		if i != 0 && i != 2 {
			sep[i] = sep[i][1:] + ":"
		}
	}
	fmt.Fprintln(out, "|"+strings.Join(sep, "|")+"|")
	for _, c := range cells[1:] {
		line(c)
	}
}

func benchFmtNum(v float64) string {
	switch {
	case v >= 100:
		s := strconv.FormatInt(int64(v+0.5), 10)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func benchFmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}
