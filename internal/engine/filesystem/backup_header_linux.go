package filesystem

import (
	"archive/tar"
	"errors"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func header(st *unix.Stat_t, name string, typ byte) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     name,
		Mode:     int64(st.Mode & 0o7777),
		Uid:      int(st.Uid),
		Gid:      int(st.Gid),
		ModTime:  time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		Format:   tar.FormatPAX,
	}
}

// linkHeader returns the hard-link entry of a file whose inode is already in
// the archive under another name, or nil after noting rel as the name of a
// multiply linked inode seen for the first time.
func (r *reader) linkHeader(st *unix.Stat_t, rel string) *tar.Header {
	if st.Nlink <= 1 {
		return nil
	}
	id := fileID{dev: st.Dev, ino: st.Ino}
	if first, ok := r.links[id]; ok {
		hdr := header(st, rel, tar.TypeLink)
		hdr.Linkname = first
		return hdr
	}
	r.links[id] = rel
	return nil
}

func withRecord(records map[string]string, k, v string) map[string]string {
	if records == nil {
		records = map[string]string{}
	}
	records[k] = v
	return records
}

// addXattrs adds the extended attributes of fd (or, when fd is -1, of the
// entry at path) as SCHILY.xattr records. A filesystem without them is
// normal; any other failure is a warning, not a reason to lose the file.
func (r *reader) addXattrs(hdr *tar.Header, fd int, path, rel string) {
	names, err := listXattrs(fd, path)
	if err != nil {
		if !errors.Is(err, unix.ENOTSUP) {
			r.rep.log.Warn("extended attributes not readable: entry archived without them", "entry", rel, "error", err)
		}
		return
	}
	for _, name := range names {
		value, err := getXattr(fd, path, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed since it was listed
		}
		if err != nil {
			r.rep.log.Warn("extended attribute not readable: entry archived without it", "entry", rel, "attribute", name, "error", err)
			continue
		}
		hdr.PAXRecords = withRecord(hdr.PAXRecords, "SCHILY.xattr."+name, string(value))
	}
}

func listXattrs(fd int, path string) ([]string, error) {
	list := func(buf []byte) (int, error) {
		if fd >= 0 {
			return unix.Flistxattr(fd, buf)
		}
		return unix.Llistxattr(path, buf)
	}
	var buf [1024]byte
	n, err := list(buf[:])
	raw := buf[:]
	for errors.Is(err, unix.ERANGE) {
		if n, err = list(nil); err != nil {
			return nil, err
		}
		raw = make([]byte, n*2)
		n, err = list(raw)
	}
	if err != nil || n == 0 {
		return nil, err
	}
	var names []string
	for _, name := range strings.Split(string(raw[:n]), "\x00") {
		if name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func getXattr(fd int, path, name string) ([]byte, error) {
	get := func(buf []byte) (int, error) {
		if fd >= 0 {
			return unix.Fgetxattr(fd, name, buf)
		}
		return unix.Lgetxattr(path, name, buf)
	}
	buf := make([]byte, 256)
	for {
		n, err := get(buf)
		if errors.Is(err, unix.ERANGE) {
			if n, err = get(nil); err != nil {
				return nil, err
			}
			buf = make([]byte, n*2)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
