package propertytests
import ("testing";"os";"fmt")
func TestDbgCase(t *testing.T) {
	b, _ := os.ReadFile(os.Getenv("CASE"))
	c, err := parseCase(string(b))
	if err != nil { t.Fatal(err) }
	c.cfg.Trace = true
	s, _ := newSystem(c.cfg, nil)
	for _, x := range c.cmds { s.run(x) }
	err = s.w.Stabilize(true)
	fmt.Println(s.w.Diagram())
	fmt.Println(err)
}
