package console

// GatewayExampleURL stands, in the "Use it at the gateway" snippets, for the user's own
// API behind the organisation's gateway: Keyward does not know that URL.
const GatewayExampleURL = "https://api.example.com/data.csv"

// GatewaySnippet is one snippet of the key page's "Use it at the gateway" section. The
// page shows Code exactly as it is here, so tests can run what users copy.
type GatewaySnippet struct {
	ID    string // the element id, for the copy button
	Title string
	Lang  string // "shell", "python" or "powerquery": how a test may run it
	Note  string // one sentence above the code
	Code  string
}

// GatewaySnippets returns the snippets for calling an API through a gateway that trades
// the key at the door. None holds a key: shell and Python read KEYWARD_API_KEY, and the
// M code says where to paste it (or asks Power Query for a Basic credential).
func GatewaySnippets() []GatewaySnippet {
	return []GatewaySnippet{
		{ID: "gateway-curl", Title: "curl", Lang: "shell",
			Note: "The key as the user name of Basic authentication (-u KEY:), or in an X-API-Key header.",
			Code: `# export KEYWARD_API_KEY first (read -rs KEYWARD_API_KEY && export KEYWARD_API_KEY)
curl -fsS -u "$KEYWARD_API_KEY:" ` + GatewayExampleURL + `
curl -fsS -H "X-API-Key: $KEYWARD_API_KEY" ` + GatewayExampleURL},
		{ID: "gateway-requests", Title: "Python (requests)", Lang: "python",
			Note: "The key in an X-API-Key header.",
			Code: `import os
import requests

url = "` + GatewayExampleURL + `"  # your API, behind the gateway
response = requests.get(url, headers={"X-API-Key": os.environ["KEYWARD_API_KEY"]}, timeout=60)
response.raise_for_status()
print(response.text)`},
		{ID: "gateway-pandas", Title: "Python (pandas)", Lang: "python",
			Note: "For an http(s) URL, pandas sends storage_options as request headers.",
			Code: `import os
import pandas as pd

url = "` + GatewayExampleURL + `"  # your API, behind the gateway
df = pd.read_csv(url, storage_options={"X-API-Key": os.environ["KEYWARD_API_KEY"]})
print(df.shape)`},
		{ID: "gateway-m-header", Title: "Excel or Power BI (Power Query M), key in a header", Lang: "powerquery",
			Note: "Excel: Data › Get Data › From Other Sources › Blank Query › Advanced Editor; Power BI Desktop: Get data › Blank query › Advanced Editor. Paste, put your key where it says so, and choose Anonymous if asked for a credential. The key is then saved in the file: for a file others open, use the Basic credential below.",
			Code: `let
    Url = "` + GatewayExampleURL + `",
    Key = "PASTE YOUR KEY HERE",
    Source = Web.Contents(Url, [Headers = [#"X-API-Key" = Key]]),
    Data = Csv.Document(Source, [Delimiter = ",", Encoding = 65001, QuoteStyle = QuoteStyle.Csv]),
    Table = Table.PromoteHeaders(Data, [PromoteAllScalars = true])
in
    Table`},
		{ID: "gateway-m-basic", Title: "Excel or Power BI (Power Query M), key as a Basic credential", Lang: "powerquery",
			Note: "The key stays out of the file: when Power Query asks for a credential for this URL, choose Basic, any user name (say key) and your key as the password (Data source settings to change it later).",
			Code: `let
    Url = "` + GatewayExampleURL + `",
    Data = Csv.Document(Web.Contents(Url), [Delimiter = ",", Encoding = 65001, QuoteStyle = QuoteStyle.Csv]),
    Table = Table.PromoteHeaders(Data, [PromoteAllScalars = true])
in
    Table`},
	}
}
