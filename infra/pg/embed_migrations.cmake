file(WRITE ${OUT} "// generated\n")
