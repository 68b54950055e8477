module thrumfixture

go 1.27
