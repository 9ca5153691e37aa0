// Command hello is the smallest Go program: the reference afmc's
// whole-process cost is measured against, in the same run (make bench).
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
