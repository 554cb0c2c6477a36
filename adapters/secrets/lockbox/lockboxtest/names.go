package lockboxtest

import (
	"context"
	"maps"
	"slices"
	"strconv"

	lockboxpb "github.com/yandex-cloud/go-genproto/yandex/cloud/lockbox/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The page sizes of SecretService/List
// (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Secret/list).
const (
	defaultListPageSize = 100
	maxListPageSize     = 1000
)

// GetEx is PayloadService/GetEx
// (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Payload/getEx): the
// current (or version_id) version of the secret given by secret_id or by
// folder_and_name, its entries a map of key to the value's bytes.
func (p payloadService) GetEx(_ context.Context, req *lockboxpb.GetExRequest) (*lockboxpb.GetExResponse, error) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var sec *secret
	var err error
	switch id := req.GetIdentifier().(type) {
	case *lockboxpb.GetExRequest_SecretId:
		sec, err = s.findLocked(id.SecretId)
	case *lockboxpb.GetExRequest_FolderAndName:
		sec, err = s.findNamedLocked(id.FolderAndName.GetFolderId(), id.FolderAndName.GetSecretName())
	default:
		err = status.Error(codes.InvalidArgument, "identifier: one of secret_id or folder_and_name is required")
	}
	if err != nil {
		return nil, err
	}
	v, err := sec.version(req.GetVersionId())
	if err != nil {
		return nil, err
	}
	out := &lockboxpb.GetExResponse{SecretId: sec.id, VersionId: v.id, Entries: map[string][]byte{}}
	for k, val := range v.entries {
		out.Entries[k] = slices.Clone(val)
	}
	return out, nil
}

// findNamedLocked returns the secret named name in folderID or the
// documented error for it.
func (s *Server) findNamedLocked(folderID, name string) (*secret, error) {
	switch {
	case folderID == "":
		return nil, status.Error(codes.InvalidArgument, "folder_and_name.folder_id: required")
	case name == "":
		return nil, status.Error(codes.InvalidArgument, "folder_and_name.secret_name: required")
	case s.deniedFolders[folderID]:
		return nil, status.Errorf(codes.PermissionDenied, "Permission denied to folder %s", folderID)
	}
	sec := s.namedLocked(folderID, name)
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret with name %s not found in folder %s", name, folderID)
	}
	return s.findLocked(sec.id) // a denied secret stays denied by name
}

// List is SecretService/List
// (https://yandex.cloud/en/docs/lockbox/api-ref/grpc/Secret/list): the
// secrets of folder_id ordered by ID, page_size at a time; next_page_token
// is empty on the last page.
func (ss secretService) List(_ context.Context, req *lockboxpb.ListSecretsRequest) (*lockboxpb.ListSecretsResponse, error) {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	folderID, size := req.GetFolderId(), int(req.GetPageSize())
	switch {
	case folderID == "":
		return nil, status.Error(codes.InvalidArgument, "folder_id: required")
	case size < 0 || size > maxListPageSize:
		return nil, status.Errorf(codes.InvalidArgument, "page_size: must be between 0 and %d", maxListPageSize)
	case s.deniedFolders[folderID]:
		return nil, status.Errorf(codes.PermissionDenied, "Permission denied to folder %s", folderID)
	case size == 0:
		size = defaultListPageSize
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n <= 0 {
			return nil, status.Error(codes.InvalidArgument, "page_token: invalid")
		}
		start = n
	}
	var inFolder []*secret
	for _, id := range slices.Sorted(maps.Keys(s.secrets)) {
		if sec := s.secrets[id]; sec.folderID == folderID {
			inFolder = append(inFolder, sec)
		}
	}
	out := &lockboxpb.ListSecretsResponse{}
	end := min(start+size, len(inFolder))
	for _, sec := range inFolder[min(start, end):end] {
		cur := sec.current()
		out.Secrets = append(out.Secrets, &lockboxpb.Secret{
			Id: sec.id, FolderId: sec.folderID, Name: sec.name, CreatedAt: timestamppb.New(sec.created),
			Status: lockboxpb.Secret_ACTIVE,
			CurrentVersion: &lockboxpb.Version{
				Id: cur.id, SecretId: sec.id, Status: lockboxpb.Version_ACTIVE,
				PayloadEntryKeys: slices.Sorted(maps.Keys(cur.entries)),
			},
		})
	}
	if end < len(inFolder) {
		out.NextPageToken = strconv.Itoa(end)
	}
	return out, nil
}
