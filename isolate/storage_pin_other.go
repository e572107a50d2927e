//go:build !linux

package isolate

// leave and rejoin bracket a storage commit's wait; a pin holds no thread here.
func (p *Pin) leave()  {}
func (p *Pin) rejoin() {}
