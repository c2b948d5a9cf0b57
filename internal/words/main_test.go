package words

import (
	"os"
	"testing"

	"github.com/scanin/scanin/internal/leaktest"
)

func TestMain(m *testing.M) { os.Exit(leaktest.Main(m)) }
