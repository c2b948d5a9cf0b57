package mobile_test

import (
	"fmt"

	"github.com/scanin/scanin/mobile"
)

func ExampleDescribeBrowser() {
	fmt.Println(mobile.DescribeBrowser("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"))
	fmt.Println(mobile.DescribeBrowser("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"))
	// Output:
	// Chrome on Windows
	// Safari on iPhone
}

func ExampleSameNetwork() {
	fmt.Println(mobile.SameNetwork("203.0.113.5", "203.0.113.77"))
	fmt.Println(mobile.SameNetwork("2001:db8:1:2::1", "2001:db8:1:3::1"))
	// Output:
	// true
	// false
}

// A scanned code for another service is refused before any request.
func ExampleClient_ParseLink() {
	client, err := mobile.NewClient("shop")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	_, err = client.ParseLink("https://relay.example/link#v=1&a=bank&s=AAAAAAAAAAAAAAAAAAAAAA&k=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&r=https%3A%2F%2Frelay.example")
	fmt.Println(mobile.ErrorCode(err))
	// Output:
	// link_wrong_app
}
