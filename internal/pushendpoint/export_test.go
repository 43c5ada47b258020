package pushendpoint

// SpoolingNow is how many unsized files the sink is reading at this moment:
// tests wait on it instead of guessing when a handler has taken its slot.
func (s *TarSink) SpoolingNow() int { return len(s.slots) }
