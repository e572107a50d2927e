package isolate

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cloister-rt/cloister/storage"

	"github.com/dop251/goja"
)

// ctx.storage: the process's durable storage, present only when the
// process was granted it (Config.Storage). Every call is synchronous: the
// process is the only writer of its slot. Writes go to the store's buffer
// and become durable when the owner commits it at the end of the turn
// (CommitStorage); reads see the turn's own writes.

// maxStorageBatch bounds the keys of one get([...]), put({...}) or
// delete([...]).
const maxStorageBatch = 128

// ctxStorage makes ctx.storage, for a process that has storage.
func (i *Isolate) ctxStorage() goja.Value {
	rt := i.rt
	o := rt.NewObject()
	def := func(name string, f func(goja.FunctionCall) goja.Value) {
		_ = o.DefineDataProperty(name, i.fn(name, f), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
	def("get", func(call goja.FunctionCall) goja.Value {
		a := call.Argument(0)
		if keys, ok := i.storageKeys(a, "get"); ok {
			got, err := i.cfg.Storage.GetMany(keys)
			if err != nil {
				i.storageThrow(err)
			}
			out := rt.NewObject()
			_ = out.SetPrototype(nil)
			for _, k := range keys {
				if v, ok := got[k]; ok {
					_ = out.DefineDataProperty(k, i.storageDecode(v), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
				}
			}
			return out
		}
		v, ok, err := i.cfg.Storage.Get(i.storageKey(a, "get"))
		if err != nil {
			i.storageThrow(err)
		}
		if !ok {
			return goja.Undefined()
		}
		return i.storageDecode(v)
	})
	def("put", func(call goja.FunctionCall) goja.Value {
		a := call.Argument(0)
		if obj, ok := a.(*goja.Object); ok && len(call.Arguments) == 1 {
			keys := obj.Keys()
			if len(keys) > maxStorageBatch {
				i.storageThrow(fmt.Errorf("%w: put of %d entries; at most %d at once", storage.ErrBadKey, len(keys), maxStorageBatch))
			}
			// Encode everything first: a refused value writes nothing.
			vals := make([][]byte, len(keys))
			for n, k := range keys {
				if err := storage.CheckKey(k); err != nil {
					i.storageThrow(err)
				}
				vals[n] = i.storageEncode(obj.Get(k), &k)
			}
			i.storageWrite(func(s *storage.Store) error {
				for n, k := range keys {
					if err := s.Put(k, vals[n]); err != nil {
						return err
					}
				}
				return nil
			})
			return goja.Undefined()
		}
		key := i.storageKey(a, "put")
		val := i.storageEncode(call.Argument(1), nil)
		i.storageWrite(func(s *storage.Store) error { return s.Put(key, val) })
		return goja.Undefined()
	})
	def("delete", func(call goja.FunctionCall) goja.Value {
		a := call.Argument(0)
		if keys, ok := i.storageKeys(a, "delete"); ok {
			n := 0
			i.storageWrite(func(s *storage.Store) error {
				for _, k := range keys {
					ok, err := s.Delete(k)
					if err != nil {
						return err
					}
					if ok {
						n++
					}
				}
				return nil
			})
			return rt.ToValue(n)
		}
		key := i.storageKey(a, "delete")
		var existed bool
		i.storageWrite(func(s *storage.Store) (err error) {
			existed, err = s.Delete(key)
			return err
		})
		return rt.ToValue(existed)
	})
	def("list", func(call goja.FunctionCall) goja.Value {
		opts := i.storageListOptions(call.Argument(0))
		kvs, err := i.cfg.Storage.List(opts)
		if err != nil {
			i.storageThrow(err)
		}
		pairs := make([]any, len(kvs))
		for n, kv := range kvs {
			pairs[n] = rt.NewArray(kv.Key, i.storageDecode(kv.Value))
		}
		return rt.NewArray(pairs...)
	})
	def("deleteAll", func(goja.FunctionCall) goja.Value {
		i.storageWrite(func(s *storage.Store) error { s.DeleteAll(); return nil })
		return goja.Undefined()
	})
	def("transaction", func(c goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(c.Argument(0))
		if !ok {
			panic(i.newError("TypeError", "storage.transaction: the argument must be a function"))
		}
		s := i.cfg.Storage
		sp := s.Begin()
		done := false
		defer func() {
			if !done {
				// A throw, a limit or a kill: nothing the closure wrote stays.
				s.Rollback(sp)
				i.storageHold()
			}
		}()
		v := call(fn, goja.Undefined(), o)
		done = true
		s.Release(sp)
		i.storageHold() // the outermost release frees the undo log
		return v
	})
	def("setAlarm", func(c goja.FunctionCall) goja.Value {
		if i.alarm == nil {
			panic(i.newError("TypeError", "storage.setAlarm: the script exports no alarm handler"))
		}
		i.cfg.Storage.SetAlarm(i.alarmTime(c.Argument(0)))
		return goja.Undefined()
	})
	def("getAlarm", func(goja.FunctionCall) goja.Value {
		at, ok := i.cfg.Storage.Alarm()
		if !ok {
			return goja.Null()
		}
		return rt.ToValue(at.UnixMilli())
	})
	def("deleteAlarm", func(goja.FunctionCall) goja.Value {
		i.cfg.Storage.DeleteAlarm()
		return goja.Undefined()
	})
	i.hostObject(o, "Storage")
	_, _ = i.freeze(goja.Undefined(), o)
	return o
}

// storageKey coerces a single key: it must be a string.
func (i *Isolate) storageKey(v goja.Value, op string) string {
	if s, ok := v.(goja.String); ok {
		return i.checkedKey(s.String())
	}
	panic(i.newError("TypeError", "storage."+op+": a key must be a string"))
}

func (i *Isolate) checkedKey(k string) string {
	if err := storage.CheckKey(k); err != nil {
		i.storageThrow(err)
	}
	return k
}

// storageKeys coerces an array of keys; ok is false when v is no array.
func (i *Isolate) storageKeys(v goja.Value, op string) ([]string, bool) {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != "Array" {
		return nil, false
	}
	n := o.Get("length").ToInteger()
	if n > maxStorageBatch {
		i.storageThrow(fmt.Errorf("%w: %s of %d keys; at most %d at once", storage.ErrBadKey, op, n, maxStorageBatch))
	}
	keys := make([]string, 0, n)
	for k := int64(0); k < n; k++ {
		e := o.Get(fmt.Sprint(k))
		if e == nil {
			e = goja.Undefined()
		}
		keys = append(keys, i.storageKey(e, op))
	}
	return keys, true
}

func (i *Isolate) storageListOptions(v goja.Value) storage.ListOptions {
	var opts storage.ListOptions
	if isNullish(v) {
		return opts
	}
	o, ok := v.(*goja.Object)
	if !ok {
		panic(i.newError("TypeError", "storage.list: options must be an object"))
	}
	str := func(name string) string {
		f := o.Get(name)
		if isNullish(f) {
			return ""
		}
		return i.storageKey(f, "list: "+name)
	}
	opts.Prefix, opts.Start, opts.End = str("prefix"), str("start"), str("end")
	opts.Reverse = o.Get("reverse") != nil && o.Get("reverse").ToBoolean()
	if l := o.Get("limit"); !isNullish(l) {
		f := l.ToFloat()
		if f != f || f < 1 || f > storage.MaxLimit || f != float64(int64(f)) {
			i.storageThrow(fmt.Errorf("%w: limit must be an integer from 1 to %d", storage.ErrBadList, storage.MaxLimit))
		}
		opts.Limit = int(f)
	}
	return opts
}

// storageEncode copies v as a message is copied; capabilities and values
// over the size limit are refused. entry is the key v is under in
// put(entries), nil for put(key, value): the error of a part that cannot
// be stored names it from there ("entries.k.f", "value.f").
func (i *Isolate) storageEncode(v goja.Value, entry *string) []byte {
	data, err := encodeValue(i.rt, v, codecLimits{MaxBytes: storage.MaxValueBytes, MaxDepth: maxMessageDepth},
		func(*goja.Object) (uint32, bool) { return 0, false })
	if err != nil {
		var ce *CloneError
		if errors.As(err, &ce) && ce.Limit == "message_bytes" {
			i.storageThrow(fmt.Errorf("%w: the limit is %d bytes encoded", storage.ErrValueTooLarge, storage.MaxValueBytes))
		}
		if ce != nil {
			panic(i.newError("DataCloneError", storageCloneMessage(ce, entry)))
		}
		panic(i.newError("DataCloneError", "storage: "+err.Error()))
	}
	return data
}

// storageCloneMessage says what part of a value cannot be stored, in the
// words of storage: the codec's path is rooted at the message ("msg.f")
// and its hints say "send".
func storageCloneMessage(ce *CloneError, entry *string) string {
	root := "value"
	if entry != nil {
		root = "entries" + strings.TrimPrefix(formatValuePath([]pathSeg{{key: *entry, idx: -1}}), pathRoot)
	}
	path := root + strings.TrimPrefix(ce.Path, pathRoot)
	return "storage: cannot store " + path + ": " + strings.Replace(ce.Reason, "(send ", "(store ", 1)
}

func (i *Isolate) storageDecode(data []byte) goja.Value {
	if hasBin(data) {
		i.lazy.ensure(lazyTypedArrays)
	}
	v, err := decodeValue(i.rt, data, codecLimits{MaxDepth: maxMessageDepth + 1, MaxBytes: len(data) + 1},
		func(uint32) (goja.Value, error) { return nil, errors.New("a stored value holds a capability") })
	if err != nil {
		i.storageThrow(fmt.Errorf("storage: decoding a stored value: %w", err))
	}
	return v
}

// storageWrite runs a write and charges the memory the buffered writes
// hold to the isolate.
// A write of many keys that fails part way leaves nothing written.
func (i *Isolate) storageWrite(f func(*storage.Store) error) {
	s := i.cfg.Storage
	sp := s.Begin()
	err := f(s)
	if err != nil {
		s.Rollback(sp)
	} else {
		s.Release(sp)
	}
	i.storageHold()
	if err != nil {
		i.storageThrow(err)
	}
}

// storageHold brings the memory charged for buffered writes up to date.
func (i *Isolate) storageHold() {
	n := i.cfg.Storage.PendingBytes()
	if d := n - i.storageHeld; d > 0 {
		i.lim.hold(d)
	} else if d < 0 {
		i.lim.release(-d)
	}
	i.storageHeld = n
}

// storageThrow raises a storage refusal as a typed JS error.
func (i *Isolate) storageThrow(err error) {
	name := "StorageError"
	switch {
	case errors.Is(err, storage.ErrQuota):
		name = "QuotaExceededError"
	case errors.Is(err, storage.ErrKeyTooLarge), errors.Is(err, storage.ErrValueTooLarge),
		errors.Is(err, storage.ErrBadList), errors.Is(err, storage.ErrBadKey):
		name = "RangeError"
	}
	panic(i.newError(name, err.Error()))
}

// StorageDirty reports whether the running turn has buffered storage
// writes to commit.
func (i *Isolate) StorageDirty() bool {
	return i.cfg.Storage != nil && i.cfg.Storage.Dirty()
}

// CommitStorage commits the storage writes buffered since the last
// commit, atomically, and refunds the memory they held. On failure the
// writes are dropped. Called between turns on the isolate's goroutine;
// under a pin (UsePin), which must be that goroutine's, the goroutine is
// unlocked from its thread while the commit waits.
func (i *Isolate) CommitStorage() error {
	if i.cfg.Storage == nil {
		return nil
	}
	if p := i.pin; p != nil && i.cfg.Storage.Dirty() {
		// The commit waits for the disk: not on a locked thread.
		p.leave()
		defer p.rejoin()
	}
	err := i.cfg.Storage.Commit()
	i.lim.release(i.storageHeld)
	i.storageHeld = 0
	return err
}

// DiscardStorage drops the buffered storage writes.
func (i *Isolate) DiscardStorage() {
	if i.cfg.Storage == nil {
		return
	}
	i.cfg.Storage.Discard()
	i.lim.release(i.storageHeld)
	i.storageHeld = 0
}

// maxAlarmMs bounds an alarm's time: the year 275760, the last a Date holds.
const maxAlarmMs = 8.64e15

// alarmTime coerces setAlarm's argument: a Date, or milliseconds since
// the Unix epoch.
func (i *Isolate) alarmTime(v goja.Value) time.Time {
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "Date" {
		if t, ok := o.Export().(time.Time); ok {
			return t
		}
		panic(i.newError("TypeError", "storage.setAlarm: invalid Date"))
	}
	if _, ok := v.(*goja.Object); ok || isNullish(v) {
		panic(i.newError("TypeError", "storage.setAlarm: the time must be a Date or milliseconds since the epoch"))
	}
	ms := v.ToFloat()
	if math.IsNaN(ms) || math.IsInf(ms, 0) || ms < 0 || ms > maxAlarmMs {
		panic(i.newError("TypeError", "storage.setAlarm: the time must be a Date or milliseconds since the epoch"))
	}
	return time.UnixMilli(int64(ms))
}

// AlarmInfo is what the alarm export is told about the alarm it handles.
type AlarmInfo struct {
	ScheduledTime time.Time
	RetryCount    int
}

// HasAlarm reports whether the script exports an alarm handler.
func (i *Isolate) HasAlarm() bool { return i.alarm != nil }

// Alarm runs a turn of the alarm export: alarm(info, ctx). done receives
// its outcome, as for Receive.
func (i *Isolate) Alarm(info AlarmInfo, done func(Outcome)) {
	if i.alarm == nil {
		done(Outcome{})
		return
	}
	i.startTurnWith(i.alarm, func() (goja.Value, error) {
		o := i.rt.NewObject()
		_ = o.Set("scheduledTime", info.ScheduledTime.UnixMilli())
		_ = o.Set("retryCount", info.RetryCount)
		_, _ = i.freeze(goja.Undefined(), o)
		return o, nil
	}, false, done)
}
