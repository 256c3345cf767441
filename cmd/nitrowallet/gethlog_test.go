package main

import "github.com/nitrowallet/nitrowallet/internal/testkit"

// The simulated chain's critical errors exit the process; say why first.
func init() { testkit.ShowGethCritical() }
