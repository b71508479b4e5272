package vendoroauthtest

// Demo credentials, for the vendoroauth command's serve-fake and demo, for
// examples, and for tests that do not care which credentials a fake
// accepts: pass the same ones to [NewEnduroSat] or [NewFormlabs] and to the
// token source. They are public; no real account uses them.
const (
	// EnduroSatClientID is the demo EnduroSat client id (a public client:
	// EnduroSat has no client secret).
	EnduroSatClientID = "endurosat-demo-client"

	// EnduroSatUsername is the demo EnduroSat operator's username.
	EnduroSatUsername = "operator@example.com"

	// EnduroSatPassword is the demo EnduroSat operator's password.
	EnduroSatPassword = "demo-password"

	// FormlabsClientID is the demo Formlabs client id.
	FormlabsClientID = "formlabs-demo-client"

	// FormlabsClientSecret is the demo Formlabs client secret.
	FormlabsClientSecret = "demo-client-secret"
)
