package demo

// --- uploads -----------------------------------------------------------------

// plan cuts the events into uploads. With n == 0 it follows the SDK: a
// flush when a track() leaves 10 events queued, else 1 s after the last
// event (the debounce).
func (s *session) plan(n int) {
	from := 0
	for i := range s.evs {
		cnt := i - from + 1
		switch {
		case n > 0:
			if cnt < n {
				continue
			}
			s.batches = append(s.batches, batch{from, i + 1, s.evs[i].t})
		case cnt >= 10:
			s.batches = append(s.batches, batch{from, i + 1, s.evs[i].t})
		case i+1 < len(s.evs) && s.evs[i+1].t <= s.evs[i].t+1000:
			continue
		default:
			s.batches = append(s.batches, batch{from, i + 1, s.evs[i].t + 1000})
		}
		from = i + 1
	}
	if from < len(s.evs) {
		s.batches = append(s.batches, batch{from, len(s.evs), s.evs[len(s.evs)-1].t + 1000})
	}
}

var liveComponent = []byte(`,"component":{"component_id":"live_goods_shelf","component_name":"直播间货架"}`)

// appendContext writes what the SDK spreads over every event of an upload,
// in the order the SDK writes it (spec A.12).
func (s *session) appendContext(b []byte, c *ctxState) []byte {
	b = append(b, `,"idenTifier":"---1`...)
	b = append(b, flag(s.queryKeys["chan_id"]), flag(c.referApp != ""), flag(c.room >= 0 || s.queryKeys["room_id"]))
	b = append(b, s.identUser...)
	b = append(b, '"')
	b = append(b, s.wxUser...)
	b = append(b, devices[s.u.device].json...)
	b = append(b, `,"framework_info":{},"chan":`...)
	open := len(b)
	b = append(b, s.queryChan...)
	b = appendKInt(b, "chan_wxapp_scene", int64(c.scene))
	if c.referApp != "" {
		b = appendKStr(b, "chan_refer_app_id", c.referApp)
	}
	if s.u.sdk2 {
		b = append(b, `,"qz_gdt":""`...)
	}
	if s.persistVid != "" {
		b = appendKStr(b, "gdt_vid", s.persistVid)
	}
	b = append(b, s.fixedChan...)
	if c.room >= 0 && !s.queryKeys["room_id"] {
		b = appendKStr(b, "room_id", liveRooms[c.room].id)
	}
	b[open] = '{' // the first fragment's comma opens the object
	b = append(b, '}')
	b = appendKStr(b, "sr_sdk_version", s.sdkVer)
	if c.component {
		b = append(b, liveComponent...)
	}
	return append(b, s.storeInfo...)
}

func flag(set bool) byte {
	if set {
		return '1'
	}
	return '-'
}

// appendBatch writes the upload body of bt: a JSON array of events whose
// context is the SDK's state when the batch was sent (spec A.3).
func (s *session) appendBatch(b []byte, bt batch) []byte {
	c := &s.ctxs[s.evs[bt.to-1].ctx]
	ctxb := s.appendContext(s.g.ctxBuf[:0], c)
	s.g.ctxBuf = ctxb
	b = append(b, '[')
	for i := bt.from; i < bt.to; i++ {
		if i > bt.from {
			b = append(b, ',')
		}
		e := &s.evs[i]
		b = append(b, `{"type":`...)
		b = appendStr(b, e.typ)
		b = append(b, `,"props":{"page":`...)
		b = appendStr(b, e.page)
		b = appendKStr(b, "page_title", e.title)
		if e.auto {
			b = append(b, `,"is_sdk_auto_track":true`...)
		}
		b = append(b, s.arena[e.pre[0]:e.pre[1]]...)
		if e.referSlot {
			if c.referPage != "" {
				b = appendKStr(b, "refer_page", c.referPage)
			}
			b = append(b, s.arena[e.post[0]:e.post[1]]...)
		}
		b = appendKInt(b, "time", e.t)
		b = append(b, ctxb...)
		if !e.referSlot && c.referPage != "" {
			b = appendKStr(b, "refer_page", c.referPage)
		}
		b = append(b, `},"from":"sr-sdk-wxapp","tracking_id":`...)
		b = appendStr(b, s.tracking)
		b = appendKInt(b, "log_id", int64(i))
		b = append(b, '}')
	}
	return append(b, ']')
}
