model y = ln(m*x)
loss mean((y - Y)^2)
