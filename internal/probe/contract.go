package probe

// imageInfo is the image object of the JSON API.
type imageInfo struct {
	Digest string `json:"digest"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Format string `json:"format"`
}

// workspaceDoc is the body of GET /api/v1/workspace and of a successful
// POST /api/v1/workspace/edits.
type workspaceDoc struct {
	CSRFToken string     `json:"csrf_token"`
	Image     *imageInfo `json:"image"`
	Edits     []any      `json:"edits"`
	Cursor    int        `json:"cursor"`
	Current   *struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	} `json:"current"`
}

// editOps are the edits a flow applies, in turn. Rotating by 90° swaps the
// image's width and height, which the download step can check.
func editOps() []map[string]any {
	return []map[string]any{
		{"op": "rotate", "angle": 90},
		{"op": "brightness", "amount": 0.1},
	}
}
