param m, b
let y = m*x + b
