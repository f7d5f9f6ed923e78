model y = m*x + 2^2^2^2^2^2^2*b
loss mean((y - Y)^2)
