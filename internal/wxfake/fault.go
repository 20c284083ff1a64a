package wxfake

import (
	"fmt"
	"slices"
	"time"
)

// FaultKind names a failure the fake can inject into one call.
type FaultKind string

// The injectable faults. The errcode ones answer HTTP 200 with the code
// instead of doing the work; FaultHTTP502 answers a gateway error page;
// FaultSlow waits, then does the work (or nothing, if the caller hangs up
// first); FaultDropAfterRecord does the work — records the action, mints
// the token — then closes the connection without answering.
const (
	FaultNone            FaultKind = ""                  // no fault: lets a script pass one call through
	FaultSystemBusy      FaultKind = "system_busy"       // errcode -1
	FaultUnavailable     FaultKind = "unavailable"       // errcode 900310000
	FaultMinuteQuota     FaultKind = "minute_quota"      // errcode 45011
	FaultDailyQuota      FaultKind = "daily_quota"       // errcode 45009
	FaultUnauthorized    FaultKind = "unauthorized"      // errcode 48001
	FaultCrossEntity     FaultKind = "cross_entity"      // errcode 900351001
	FaultErrcode         FaultKind = "errcode"           // errcode Fault.Code with Fault.Msg
	FaultHTTP502         FaultKind = "http_502"          // HTTP 502, HTML body
	FaultSlow            FaultKind = "slow"              // delay Fault.Delay (or Options.SlowDelay)
	FaultDropAfterRecord FaultKind = "drop_after_record" // work done, connection closed
)

// AllFaults lists every fault kind but FaultNone and FaultErrcode.
var AllFaults = []FaultKind{
	FaultSystemBusy, FaultUnavailable, FaultMinuteQuota, FaultDailyQuota, FaultUnauthorized,
	FaultCrossEntity, FaultHTTP502, FaultSlow, FaultDropAfterRecord,
}

// TransientFaults are the faults a well-behaved client recovers from by
// retrying; they are the default of Options.FaultKinds so that random
// faults exercise retries without dead-lettering everything.
var TransientFaults = []FaultKind{
	FaultSystemBusy, FaultUnavailable, FaultMinuteQuota, FaultHTTP502, FaultDropAfterRecord,
}

// Fault is one injected failure.
type Fault struct {
	Kind FaultKind `json:"kind"`
	// Code and Msg are the errcode and errmsg of FaultErrcode.
	Code int64  `json:"code,omitempty"`
	Msg  string `json:"msg,omitempty"`
	// Delay is the wait of FaultSlow; zero takes Options.SlowDelay.
	Delay time.Duration `json:"delay,omitempty"`
}

func (k FaultKind) valid() bool {
	return k == FaultNone || k == FaultErrcode || slices.Contains(AllFaults, k)
}

// errcode returns the code and message an errcode fault answers.
func (f Fault) errcode() (int64, string) {
	switch f.Kind {
	case FaultSystemBusy:
		return -1, "system error"
	case FaultUnavailable:
		return 900310000, "We are unable to process your request at this time. Please try again later."
	case FaultMinuteQuota:
		return 45011, "api minute-quota reach limit  mustslower  retry next minute"
	case FaultDailyQuota:
		return 45009, "reach max api daily quota limit"
	case FaultUnauthorized:
		return 48001, "api unauthorized"
	case FaultCrossEntity:
		return 900351001, "cross-entity (跨主体) authorization missing for the app of the reported users"
	default:
		msg := f.Msg
		if msg == "" {
			msg = fmt.Sprintf("injected error %d", f.Code)
		}
		return f.Code, msg
	}
}

// Script queues faults for the next calls to endpoint, one per call, in
// order; FaultNone lets a call through. Scripted faults are used before
// random ones.
func (s *Server) Script(endpoint string, faults ...Fault) error {
	if !knownEndpoint(endpoint) {
		return fmt.Errorf("wxfake: unknown endpoint %q", endpoint)
	}
	for _, f := range faults {
		if !f.Kind.valid() {
			return fmt.Errorf("wxfake: unknown fault kind %q", f.Kind)
		}
		if f.Kind == FaultErrcode && f.Code == 0 {
			return fmt.Errorf("wxfake: an errcode fault needs a non-zero code")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[endpoint] = append(s.scripts[endpoint], faults...)
	return nil
}

// Pending returns how many scripted faults endpoint has not used yet.
func (s *Server) Pending(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.scripts[endpoint])
}

// SetRandomFaults changes the probability and kinds of random faults at run
// time; no kinds keeps the current ones.
func (s *Server) SetRandomFaults(rate float64, kinds ...FaultKind) error {
	if rate < 0 || rate > 1 {
		return fmt.Errorf("wxfake: fault rate %v outside [0,1]", rate)
	}
	for _, k := range kinds {
		if k == FaultNone || k == FaultErrcode || !k.valid() {
			return fmt.Errorf("wxfake: fault kind %q cannot be drawn at random", k)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultRate = rate
	if len(kinds) > 0 {
		s.faultKind = slices.Clone(kinds)
	}
	return nil
}

// takeFault counts a call to ep and decides its fault: the next scripted
// one, else a random draw.
func (s *Server) takeFault(ep string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[ep]++
	if q := s.scripts[ep]; len(q) > 0 {
		s.scripts[ep] = q[1:]
		return q[0]
	}
	if s.faultRate > 0 && slices.Contains(s.opts.FaultEndpoints, ep) && s.rng.Float64() < s.faultRate {
		return Fault{Kind: s.faultKind[s.rng.IntN(len(s.faultKind))]}
	}
	return Fault{}
}
