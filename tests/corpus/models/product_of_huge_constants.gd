model y = m*x + 1e200*1e200*b
loss mean((y - Y)^2)
