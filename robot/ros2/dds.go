//go:build ros2

package ros2

//go:generate sh gen.sh

/*
#cgo pkg-config: CycloneDDS
#include <stdlib.h>
#include <string.h>
#include "dds/dds.h"
#include "dds/ddsrt/endian.h"
#include "dds/ddsi/ddsi_serdata.h"
#include "dds/ddsi/ddsi_cdrstream.h"
#include "msg_geometry_msgs.h"
#include "msg_sensor_msgs.h"
#include "msg_trajectory_msgs.h"

// vst_write checks XCDR1 data (with its 4-byte header) with CycloneDDS's own
// validator, reads it into a sample of desc's type and writes that.
static dds_return_t vst_write(dds_entity_t wr, const dds_topic_descriptor_t *desc, const void *data, uint32_t size) {
	const unsigned char *h = data;
	if (size < 4 || h[0] != 0 || (h[1] != 0 && h[1] != 1))
		return DDS_RETCODE_BAD_PARAMETER;
	bool bswap = (h[1] == 1) != (DDSRT_ENDIAN == DDSRT_LITTLE_ENDIAN);
	uint32_t n = size - 4, off = 0;
	char *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return DDS_RETCODE_OUT_OF_RESOURCES;
	memcpy(buf, h + 4, n);
	if (dds_stream_normalize_data(buf, &off, n, bswap, 1, desc->m_ops) == NULL) {
		free(buf);
		return DDS_RETCODE_BAD_PARAMETER;
	}
	void *sample = dds_alloc(desc->m_size);
	if (sample == NULL) {
		free(buf);
		return DDS_RETCODE_OUT_OF_RESOURCES;
	}
	dds_istream_t is;
	dds_istream_init(&is, n, buf, 1);
	dds_stream_read(&is, sample, desc->m_ops);
	dds_istream_fini(&is);
	free(buf);
	dds_return_t rc = dds_write(wr, sample);
	dds_sample_free(sample, desc, DDS_FREE_ALL);
	return rc;
}

// vst_take takes one sample's serialized data (header included) into a
// malloc'ed buffer; *out is NULL for samples without data (disposals).
static int32_t vst_take(dds_entity_t rd, void **out, uint32_t *size) {
	struct ddsi_serdata *sd = NULL;
	dds_sample_info_t info;
	*out = NULL;
	*size = 0;
	int32_t n = dds_takecdr(rd, &sd, 1, &info, 0);
	if (n <= 0)
		return n;
	if (info.valid_data) {
		uint32_t sz = ddsi_serdata_size(sd);
		void *b = malloc(sz ? sz : 1);
		if (b == NULL) {
			ddsi_serdata_unref(sd);
			return DDS_RETCODE_OUT_OF_RESOURCES;
		}
		ddsi_serdata_to_ser(sd, 0, sz, b);
		*out = b;
		*size = sz;
	}
	ddsi_serdata_unref(sd);
	return 1;
}

static dds_qos_t *vst_qos(bool best_effort, bool transient_local, int32_t depth) {
	dds_qos_t *q = dds_create_qos();
	if (best_effort)
		dds_qset_reliability(q, DDS_RELIABILITY_BEST_EFFORT, 0);
	else
		dds_qset_reliability(q, DDS_RELIABILITY_RELIABLE, 100 * DDS_NSECS_IN_MSEC);
	dds_qset_durability(q, transient_local ? DDS_DURABILITY_TRANSIENT_LOCAL : DDS_DURABILITY_VOLATILE);
	dds_qset_history(q, DDS_HISTORY_KEEP_LAST, depth);
	return q;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"
)

// descriptors maps DDS type names to the idlc-generated type support.
var descriptors = map[string]*C.dds_topic_descriptor_t{
	(*String)(nil).TypeName():          &C.std_msgs_msg_dds__String__desc,
	(*Float64)(nil).TypeName():         &C.std_msgs_msg_dds__Float64__desc,
	(*Twist)(nil).TypeName():           &C.geometry_msgs_msg_dds__Twist__desc,
	(*PoseStamped)(nil).TypeName():     &C.geometry_msgs_msg_dds__PoseStamped__desc,
	(*Image)(nil).TypeName():           &C.sensor_msgs_msg_dds__Image__desc,
	(*CompressedImage)(nil).TypeName(): &C.sensor_msgs_msg_dds__CompressedImage__desc,
	(*JointState)(nil).TypeName():      &C.sensor_msgs_msg_dds__JointState__desc,
	(*JointTrajectory)(nil).TypeName(): &C.trajectory_msgs_msg_dds__JointTrajectory__desc,
}

// ddsError turns a negative DDS return code into an error.
func ddsError(op string, rc C.dds_return_t) error {
	return fmt.Errorf("ros2: %s: %s (%d)", op, C.GoString(C.dds_strretcode(rc)), int(rc))
}

// QoS is the subset of DDS QoS that ROS 2 profiles set. The zero value is
// ROS 2's default profile: reliable, volatile, keep last 10.
type QoS struct {
	// BestEffort drops samples instead of retransmitting them. It defaults
	// to false: reliable. A reliable reader does not match a best-effort
	// writer.
	BestEffort bool
	// TransientLocal keeps the last Depth samples for readers that join
	// later (ROS 1's latching). It defaults to false: volatile.
	TransientLocal bool
	// Depth is the keep-last history depth. It defaults to 10.
	Depth int
}

// SensorDataQoS is ROS 2's sensor data profile (rmw_qos_profile_sensor_data):
// best effort, volatile, keep last 5.
var SensorDataQoS = QoS{BestEffort: true, Depth: 5}

// c returns the QoS as a new dds_qos_t; free it with dds_delete_qos.
func (q QoS) c() (*C.dds_qos_t, error) {
	if q.Depth == 0 {
		q.Depth = 10
	}
	if q.Depth < 0 || q.Depth > 1<<20 {
		return nil, fmt.Errorf("ros2: QoS depth %d is outside [1, %d]", q.Depth, 1<<20)
	}
	return C.vst_qos(C.bool(q.BestEffort), C.bool(q.TransientLocal), C.int32_t(q.Depth)), nil
}

// Config configures a Node. Topic names are ROS 2 names ("/cmd_vel"); the
// DDS topics are "rt/" followed by the name without its leading slash.
type Config struct {
	// Domain is the DDS domain id (ROS_DOMAIN_ID), 0 to 232. When 0 it is
	// read from $ROS_DOMAIN_ID if that is set; it defaults to 0.
	Domain int
	// DDSConfig is CycloneDDS configuration, in the form CYCLONEDDS_URI
	// takes: XML, or file:// URIs separated by commas. When set, the node
	// creates its domain with it (only one node per domain and process can
	// do so). It defaults to empty: $CYCLONEDDS_URI, then CycloneDDS's
	// defaults (every interface, multicast discovery).
	DDSConfig string

	// ImageTopic carries sensor_msgs/Image frames of the first camera. It
	// defaults to "/camera/image_raw".
	ImageTopic string
	// CompressedImageTopic carries sensor_msgs/CompressedImage frames of
	// the first camera. It defaults to "/camera/image_raw/compressed".
	CompressedImageTopic string
	// ImageTransport selects which of the two image topics the Sensor
	// reads: "raw" or "compressed". It defaults to "raw".
	ImageTransport string
	// ImageQoS is the QoS of the Sensor's image readers. It defaults to
	// the zero QoS (reliable, as ROS 2's default); set SensorDataQoS for
	// cameras that publish best effort, as most ROS 2 camera drivers do.
	ImageQoS QoS
	// JointStatesTopic carries sensor_msgs/JointState. It defaults to
	// "/joint_states".
	JointStatesTopic string
	// CmdVelTopic receives geometry_msgs/Twist commands. It defaults to
	// "/cmd_vel".
	CmdVelTopic string
	// JointTrajectoryCmdTopic receives trajectory_msgs/JointTrajectory
	// commands. It defaults to "/joint_trajectory_cmd".
	JointTrajectoryCmdTopic string
	// StatusTopic receives std_msgs/String status lines, transient local
	// with depth 1 (the equivalent of a latched ROS 1 topic). It defaults
	// to "/vla/status".
	StatusTopic string

	// Logger receives the node's warnings (malformed messages). It
	// defaults to discarding them.
	Logger *slog.Logger
}

// The image transports.
const (
	// TransportRaw reads sensor_msgs/Image.
	TransportRaw = "raw"
	// TransportCompressed reads sensor_msgs/CompressedImage (JPEG or PNG).
	TransportCompressed = "compressed"
)

func (c *Config) defaults() error {
	if c.Domain == 0 {
		if s := os.Getenv("ROS_DOMAIN_ID"); s != "" {
			d, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("ros2: ROS_DOMAIN_ID %q: %w", s, err)
			}
			c.Domain = d
		}
	}
	if c.Domain < 0 || c.Domain > 232 {
		return fmt.Errorf("ros2: domain %d is outside [0, 232]", c.Domain)
	}
	for _, f := range []struct {
		p   *string
		def string
	}{
		{&c.ImageTopic, "/camera/image_raw"},
		{&c.CompressedImageTopic, "/camera/image_raw/compressed"},
		{&c.ImageTransport, TransportRaw},
		{&c.JointStatesTopic, "/joint_states"},
		{&c.CmdVelTopic, "/cmd_vel"},
		{&c.JointTrajectoryCmdTopic, "/joint_trajectory_cmd"},
		{&c.StatusTopic, "/vla/status"},
	} {
		if *f.p == "" {
			*f.p = f.def
		}
	}
	if c.ImageTransport != TransportRaw && c.ImageTransport != TransportCompressed {
		return fmt.Errorf("ros2: image transport %q: want %q or %q", c.ImageTransport, TransportRaw, TransportCompressed)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// closer is a publisher or subscriber the node closes with itself.
type closer interface{ close() }

// Node is a DDS participant with ROS 2 naming. Create it with New and
// release it with Close, which also closes its publishers, subscribers,
// sensors and actuators.
type Node struct {
	cfg    Config
	entity C.dds_entity_t // the domain when the node created it, else the participant
	part   C.dds_entity_t
	status *Publisher[*String]

	mu       sync.Mutex
	closed   bool
	children map[closer]struct{}
}

var errClosed = errors.New("ros2: closed")

// New creates a participant on the configured domain and the status
// publisher.
func New(cfg Config) (*Node, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, children: map[closer]struct{}{}}
	if cfg.DDSConfig != "" {
		s := C.CString(cfg.DDSConfig)
		dom := C.dds_create_domain(C.dds_domainid_t(cfg.Domain), s)
		C.free(unsafe.Pointer(s))
		if dom < 0 {
			return nil, ddsError(fmt.Sprintf("create domain %d", cfg.Domain), dom)
		}
		n.entity = dom
	}
	n.part = C.dds_create_participant(C.dds_domainid_t(cfg.Domain), nil, nil)
	if n.part < 0 {
		err := ddsError(fmt.Sprintf("create participant on domain %d", cfg.Domain), n.part)
		if n.entity != 0 {
			C.dds_delete(n.entity)
		}
		return nil, err
	}
	if n.entity == 0 {
		n.entity = n.part
	}
	st, err := NewPublisher[*String](n, cfg.StatusTopic, QoS{TransientLocal: true, Depth: 1})
	if err != nil {
		n.Close()
		return nil, err
	}
	n.status = st
	return n, nil
}

// Config returns the node's configuration with defaults applied.
func (n *Node) Config() Config { return n.cfg }

// PublishStatus publishes a status line on the status topic; readers that
// join later with transient-local durability receive the last one.
func (n *Node) PublishStatus(ctx context.Context, status string) error {
	return n.status.Publish(ctx, &String{Data: status})
}

func (n *Node) adopt(c closer) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errClosed
	}
	n.children[c] = struct{}{}
	return nil
}

func (n *Node) release(c closer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.children, c)
}

// Close closes everything created on the node and deletes the participant
// (and the domain it created).
func (n *Node) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	children := n.children
	n.children = nil
	n.mu.Unlock()
	for c := range children {
		c.close()
	}
	C.dds_delete(n.entity)
}

// endpoint creates a DDS topic and an endpoint on it (reader or writer).
func (n *Node) endpoint(name, typeName string, q QoS, reader bool) (topic, ep C.dds_entity_t, desc *C.dds_topic_descriptor_t, err error) {
	desc = descriptors[typeName]
	if desc == nil {
		return 0, 0, nil, fmt.Errorf("ros2: no type support for %s", typeName)
	}
	if name == "" || name == "/" {
		return 0, 0, nil, errors.New("ros2: empty topic name")
	}
	qos, err := q.c()
	if err != nil {
		return 0, 0, nil, err
	}
	defer C.dds_delete_qos(qos)
	dt := Topic(name)
	cname := C.CString(dt)
	defer C.free(unsafe.Pointer(cname))
	topic = C.dds_create_topic(n.part, desc, cname, qos, nil)
	if topic < 0 {
		return 0, 0, nil, ddsError("create topic "+dt, topic)
	}
	if reader {
		ep = C.dds_create_reader(n.part, topic, qos, nil)
	} else {
		ep = C.dds_create_writer(n.part, topic, qos, nil)
	}
	if ep < 0 {
		C.dds_delete(topic)
		return 0, 0, nil, ddsError("create endpoint on "+dt, ep)
	}
	return topic, ep, desc, nil
}

// writer is a DDS writer of serialized messages.
type writer struct {
	n         *Node
	name      string
	topic, wr C.dds_entity_t
	desc      *C.dds_topic_descriptor_t

	mu     sync.Mutex
	closed bool
}

func (n *Node) newWriter(name, typeName string, q QoS) (*writer, error) {
	topic, wr, desc, err := n.endpoint(name, typeName, q, false)
	if err != nil {
		return nil, err
	}
	w := &writer{n: n, name: name, topic: topic, wr: wr, desc: desc}
	if err := n.adopt(w); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// write publishes XCDR1 data after CycloneDDS has validated it.
func (w *writer) write(data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	if len(data) > MaxMessageSize {
		return fmt.Errorf("ros2: publish %s: %d bytes, over the %d-byte limit", w.name, len(data), MaxMessageSize)
	}
	buf := C.CBytes(data)
	defer C.free(buf)
	if rc := C.vst_write(w.wr, w.desc, buf, C.uint32_t(len(data))); rc < 0 {
		return ddsError("publish "+w.name, rc)
	}
	return nil
}

func (w *writer) matched() (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, errClosed
	}
	var st C.dds_publication_matched_status_t
	if rc := C.dds_get_publication_matched_status(w.wr, &st); rc < 0 {
		return 0, ddsError("matched status of "+w.name, rc)
	}
	return int(st.current_count), nil
}

func (w *writer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	C.dds_delete(w.wr)
	C.dds_delete(w.topic)
}

// Publisher writes messages of type M (a message pointer type such as
// *Twist) to one topic. Create it with NewPublisher and release it with
// Close (or with its node).
type Publisher[M Message] struct{ w *writer }

// NewPublisher creates a writer of M on the ROS 2 topic name (e.g.
// "/cmd_vel", DDS topic "rt/cmd_vel") with the QoS q.
func NewPublisher[M Message](n *Node, name string, q QoS) (*Publisher[M], error) {
	var zero M
	if any(zero) == nil {
		return nil, errors.New("ros2: publisher type must be a message pointer type such as *ros2.Twist")
	}
	w, err := n.newWriter(name, zero.TypeName(), q)
	if err != nil {
		return nil, err
	}
	return &Publisher[M]{w: w}, nil
}

// Publish encodes m and writes it. A reliable publisher may block for up to
// 100 ms when a reader's history is full.
func (p *Publisher[M]) Publish(ctx context.Context, m M) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.w.write(m.MarshalCDR())
}

// Matched returns the number of readers the publisher has matched.
func (p *Publisher[M]) Matched() (int, error) { return p.w.matched() }

// Close deletes the writer and its topic.
func (p *Publisher[M]) Close() {
	p.w.n.release(p.w)
	p.w.close()
}

// Subscriber delivers the messages of one topic to a callback, from its own
// goroutine. Create it with Subscribe and release it with Close (or with its
// node).
type Subscriber struct {
	n                    *Node
	name                 string
	topic, rd, ws, guard C.dds_entity_t
	onData               func([]byte)
	done                 chan struct{}
	malformed            atomic.Uint64

	once sync.Once
}

// Subscribe creates a reader of the ROS 2 topic name with the QoS q and
// calls fn with every message that decodes, one at a time, from the
// subscriber's goroutine; fn must return promptly, as Close waits for it.
// Messages that fail to decode are counted (Malformed) and logged.
func Subscribe[T any, P interface {
	*T
	Message
}](n *Node, name string, q QoS, fn func(P)) (*Subscriber, error) {
	if fn == nil {
		return nil, errors.New("ros2: subscribe: nil callback")
	}
	s, err := n.subscribe(name, P(new(T)).TypeName(), q)
	if err != nil {
		return nil, err
	}
	s.onData = func(data []byte) {
		m := P(new(T))
		if err := m.UnmarshalCDR(data); err != nil {
			s.malformed.Add(1)
			n.cfg.Logger.Warn("ros2: malformed message", "topic", name, "err", err)
			return
		}
		fn(m)
	}
	go s.run()
	return s, nil
}

// subscribe creates the reader, its waitset and the guard that stops it.
// The caller sets onData and starts run.
func (n *Node) subscribe(name, typeName string, q QoS) (*Subscriber, error) {
	topic, rd, _, err := n.endpoint(name, typeName, q, true)
	if err != nil {
		return nil, err
	}
	s := &Subscriber{n: n, name: name, topic: topic, rd: rd, done: make(chan struct{})}
	fail := func(op string, rc C.dds_return_t) (*Subscriber, error) {
		for _, e := range []C.dds_entity_t{s.ws, s.guard, rd, topic} {
			if e > 0 {
				C.dds_delete(e)
			}
		}
		return nil, ddsError(op+" for "+name, rc)
	}
	if s.guard = C.dds_create_guardcondition(n.part); s.guard < 0 {
		return fail("create guard condition", s.guard)
	}
	if s.ws = C.dds_create_waitset(n.part); s.ws < 0 {
		return fail("create waitset", s.ws)
	}
	if rc := C.dds_set_status_mask(rd, C.DDS_DATA_AVAILABLE_STATUS); rc < 0 {
		return fail("set status mask", rc)
	}
	if rc := C.dds_waitset_attach(s.ws, rd, 0); rc < 0 {
		return fail("attach reader", rc)
	}
	if rc := C.dds_waitset_attach(s.ws, s.guard, 1); rc < 0 {
		return fail("attach guard", rc)
	}
	if err := n.adopt(s); err != nil {
		close(s.done)
		s.once.Do(s.free)
		return nil, err
	}
	return s, nil
}

// run waits for data and drains the reader until the guard is set.
func (s *Subscriber) run() {
	defer close(s.done)
	for {
		C.dds_waitset_wait(s.ws, nil, 0, C.DDS_INFINITY)
		for {
			var buf unsafe.Pointer
			var size C.uint32_t
			rc := C.vst_take(s.rd, &buf, &size)
			if rc <= 0 {
				if rc < 0 {
					s.n.cfg.Logger.Warn("ros2: take failed", "topic", s.name, "err", ddsError("take", C.dds_return_t(rc)))
				}
				break
			}
			if buf == nil {
				continue
			}
			data := C.GoBytes(buf, C.int(size))
			C.free(buf)
			s.onData(data)
		}
		var triggered C.bool
		C.dds_read_guardcondition(s.guard, &triggered)
		if triggered {
			return
		}
	}
}

// Malformed returns how many received messages failed to decode.
func (s *Subscriber) Malformed() uint64 { return s.malformed.Load() }

// Close stops the subscriber's goroutine and deletes its reader.
func (s *Subscriber) Close() {
	s.n.release(s)
	s.close()
}

func (s *Subscriber) close() {
	s.once.Do(func() {
		C.dds_set_guardcondition(s.guard, true)
		<-s.done
		s.free()
	})
}

func (s *Subscriber) free() {
	C.dds_delete(s.ws)
	C.dds_delete(s.guard)
	C.dds_delete(s.rd)
	C.dds_delete(s.topic)
}
