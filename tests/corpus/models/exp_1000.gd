model y = m*x + exp(1000)*b
loss mean((y - Y)^2)
